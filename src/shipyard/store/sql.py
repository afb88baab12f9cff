"""The tracking part of the metadata store: runs, params, metrics, tags and artifact references.

One SQLAlchemy implementation for SQLite and PostgreSQL; see ``_base`` for transactions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.artifacts.paths import check_artifact_path
from shipyard.core.entities import Metric, RunArtifact, RunPage, RunRecord, RunStatus
from shipyard.core.entities_storage import MetricRow
from shipyard.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from shipyard.core.filters import parse_filter, parse_order_by
from shipyard.core.validation import metric_point_problem
from shipyard.store import _history, _search, audit
from shipyard.store._base import StoreBase, chunks, now_ms
from shipyard.store._liveness import hostname, process_alive
from shipyard.store.schema import (
    dataset_versions,
    drift_references,
    latest_metrics,
    metrics,
    model_version_files,
    model_versions,
    params,
    prediction_segments,
    run_artifacts,
    run_inputs,
    runs,
    tags,
    verdicts,
)


class SqlStore(StoreBase):
    """Runs, params, metrics, tags and artifact references in SQLite or PostgreSQL."""

    def __init__(self, engine: sa.Engine, *, heartbeat_timeout: float = 60.0) -> None:
        super().__init__(engine)
        self.heartbeat_timeout_ms = int(heartbeat_timeout * 1000)
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        quote = engine.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c) for c in ("run_id", "key", "step", "timestamp", "value"))
        self._insert_metric_sql = f"INSERT INTO metrics ({columns}) VALUES ({', '.join([mark] * 5)})"
        self._insert_run = self._insert(runs).on_conflict_do_nothing(index_elements=["id"]).returning(runs.c.id)
        """A run's insert that reports an id in use by inserting nothing (no look-up first)."""
        self._copy_metric_sql = f"COPY metrics ({columns}) FROM STDIN" if engine.dialect.name == "postgresql" else ""
        self._history_sql = (
            f"SELECT {mark}, value, step, {quote('timestamp')} FROM metrics WHERE run_id = {mark} AND "
            f"{quote('key')} = {mark} ORDER BY step, {quote('timestamp')}"
        )

    @classmethod
    def open(
        cls,
        url: str,
        *,
        busy_timeout: float = 60.0,
        synchronous: str = "NORMAL",
        heartbeat_timeout: float = 60.0,
        auto_upgrade: bool | None = None,
        pool_size: int | None = None,
    ) -> SqlStore:
        """Open a store; ``auto_upgrade`` (default: only for SQLite) lets an older schema be upgraded on open;
        ``pool_size``: the PostgreSQL connections kept open (see ``create_engine``)."""
        engine = cls.open_engine(
            url, busy_timeout=busy_timeout, synchronous=synchronous, auto_upgrade=auto_upgrade, pool_size=pool_size
        )
        return cls(engine, heartbeat_timeout=heartbeat_timeout)

    # run lifecycle ----------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        project: str,
        name: str,
        parent_id: str | None = None,
        tags_: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
        pid: int = 0,
    ) -> RunRecord:
        now = now_ms()
        environment_json = _environment_json(environment or {})
        _check_pid(pid)
        with self._write() as conn:
            if parent_id is not None:
                self._require_run(conn, parent_id)
            project_id = self._project_id(conn, project, create=True)
            inserted = conn.execute(
                self._insert_run,
                {
                    "id": run_id,
                    "project_id": project_id,
                    "name": name,
                    "status": RunStatus.RUNNING.value,
                    "parent_id": parent_id,
                    "start_time": now,
                    "heartbeat_at": now,
                    "host": hostname(),
                    "pid": pid,
                    "environment": environment_json,
                },
            )
            if inserted.first() is None:
                raise AlreadyExists(
                    f"A run with id {run_id!r} exists already; a new run needs a new id (start_run makes one)."
                )
            if tags_:
                conn.execute(tags.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in tags_.items()])
        return RunRecord(
            id=run_id,
            project=project,
            name=name,
            status=RunStatus.RUNNING,
            start_time=now,
            end_time=None,
            parent_id=parent_id,
            tags=dict(tags_ or {}),
            environment_json=environment_json,
        )

    def resume_run(self, run_id: str, *, pid: int) -> RunRecord:
        _check_pid(pid)
        with self._write() as conn:
            row = self._require_run(conn, run_id)
            if row.deleted_at is not None:
                raise Conflict(f"Run {run_id} is deleted; restore it with `shipyard runs restore {run_id}` first.")
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status="running", end_time=None, heartbeat_at=now_ms(), host=hostname(), pid=pid)
            )
        return self.get_run(run_id)

    def end_run(self, run_id: str, status: RunStatus) -> None:
        if status is RunStatus.RUNNING:
            raise InvalidInput("A run ends as finished, failed or crashed, not running.")
        with self._write() as conn:
            ended = conn.execute(_END_RUN, {"run_id": run_id, "status": status.value, "end_time": now_ms()})
            if ended.rowcount == 0:
                self._require_writable(conn, run_id)  # raises NotFound or Conflict, saying which

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        with self._write() as conn:
            conn.execute(
                runs.update().where(runs.c.id.in_(run_ids), runs.c.status == "running").values(heartbeat_at=now_ms())
            )

    def delete_run(self, run_id: str, *, actor: str = "unknown") -> None:
        """Hide a run (audited). Deleting it again keeps the first time, so the grace period is not restarted."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            changed = conn.execute(
                runs.update().where(runs.c.id == run_id, runs.c.deleted_at.is_(None)).values(deleted_at=now_ms())
            ).rowcount
            if changed:
                audit.record(conn, actor, "run.delete", self._run_project(conn, run_id), f"run:{run_id}", {})

    def restore_run(self, run_id: str, *, actor: str = "unknown") -> None:
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(runs.update().where(runs.c.id == run_id).values(deleted_at=None))
            audit.record(conn, actor, "run.restore", self._run_project(conn, run_id), f"run:{run_id}", {})

    @staticmethod
    def _run_project(conn: sa.Connection, run_id: str) -> int | None:
        return conn.execute(sa.select(runs.c.project_id).where(runs.c.id == run_id)).scalar()

    def purgeable_runs(self, deleted_before: int) -> list[str]:
        """Runs deleted before ``deleted_before`` (ms), which ``purge_deleted_runs`` would remove."""
        with self._read() as conn:
            return self._purgeable(conn, deleted_before)

    @staticmethod
    def _purgeable(conn: sa.Connection, deleted_before: int) -> list[str]:
        query = sa.select(runs.c.id).where(runs.c.deleted_at.is_not(None), runs.c.deleted_at <= deleted_before)
        return list(conn.execute(query.order_by(runs.c.id)).scalars())

    def purge_deleted_runs(self, deleted_before: int, *, actor: str = "unknown") -> list[str]:
        """Remove for good the runs deleted before ``deleted_before`` (ms), with everything they hold."""
        with self._write() as conn:
            ids = self._purgeable(conn, deleted_before)
            # Lock the runs first (PostgreSQL): a write that checked one of them finishes before its points are
            # deleted, and one that comes later finds the run gone (see _require_writable).
            for chunk in chunks(ids):
                conn.execute(sa.select(runs.c.id).where(runs.c.id.in_(chunk)).with_for_update())
            for run_id in ids:
                audit.record(conn, actor, "run.purge", self._run_project(conn, run_id), f"run:{run_id}", {})
            for chunk in chunks(ids):
                for table in (metrics, latest_metrics, params, tags, run_artifacts, run_inputs):
                    conn.execute(table.delete().where(table.c.run_id.in_(chunk)))
                conn.execute(runs.delete().where(runs.c.id.in_(chunk)))
        return ids

    def _require_run(self, conn: sa.Connection, run_id: str, *, for_write: bool = False) -> Any:
        """The run's status row; ``for_write`` keeps it key-share locked until the transaction ends (PostgreSQL)."""
        row = conn.execute(_RUN_STATE_FOR_WRITE if for_write else _RUN_STATE, {"run_id": run_id}).first()
        if row is None:
            raise NotFound(f"No run with id {run_id!r}. List runs with `shipyard runs list --project NAME`.")
        return row

    def _require_writable(self, conn: sa.Connection, run_id: str) -> None:
        """Raise unless the run takes writes. On PostgreSQL the run row stays key-share locked until the write
        commits, so a purge cannot remove the run under it (metric points have no foreign key to do that)."""
        row = self._require_run(conn, run_id, for_write=True)
        if row.status != RunStatus.RUNNING.value:
            raise Conflict(
                f"Run {run_id} has ended ({row.status}); it accepts no more writes. Start a new run, or "
                f"resume this one with sy.start_run(run_id={run_id!r})."
            )

    # params, tags, metrics --------------------------------------------------------------------------

    def write(
        self,
        run_id: str,
        *,
        metrics_: Sequence[MetricRow] = (),
        params_: Mapping[str, str] | None = None,
        tags_: Mapping[str, str] | None = None,
    ) -> None:
        """Write metric points, params and tags to a running run in one transaction: all or nothing.

        A metric point the database cannot hold (a step or timestamp beyond 64 bits, say) is ``InvalidInput``
        naming it, and nothing is written.
        """
        with self._write() as conn:
            self._require_writable(conn, run_id)
            if params_:
                self._write_params(conn, run_id, params_)
            if tags_:
                upsert = self._insert(tags)
                conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["run_id", "key"], set_={"value": upsert.excluded.value}
                    ),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tags_.items()],
                )
            if metrics_:
                try:
                    self._write_metrics(conn, run_id, metrics_)
                except (OverflowError, sa.exc.DataError, sa.exc.IntegrityError) as exc:
                    raise InvalidInput(_refused_points(metrics_, exc)) from exc

    def _write_params(self, conn: sa.Connection, run_id: str, new: Mapping[str, str]) -> None:
        existing = dict(
            conn.execute(
                sa.select(params.c.key, params.c.value).where(params.c.run_id == run_id, params.c.key.in_(list(new)))
            ).all()
        )
        changed = {k: (existing[k], v) for k, v in new.items() if k in existing and existing[k] != v}
        if changed:
            detail = "; ".join(f"{k!r}: logged {old!r}, now {value!r}" for k, (old, value) in changed.items())
            raise Conflict(
                f"Params are immutable within a run, and these differ from what run {run_id} logged: {detail}. "
                "Start a new run to try other values, or log the value as a tag or metric."
            )
        fresh = [{"run_id": run_id, "key": k, "value": v} for k, v in new.items() if k not in existing]
        if fresh:
            conn.execute(params.insert(), fresh)

    def _write_metrics(self, conn: sa.Connection, run_id: str, points: Sequence[MetricRow]) -> None:
        latest: dict[str, MetricRow] = {}
        for point in points:
            best = latest.get(point[0])
            if best is None or point[2] > best[2] or (point[2] == best[2] and point[3] >= best[3]):
                latest[point[0]] = point
        # The hot path: plain tuples straight to the driver, skipping per-row parameter processing (a third of
        # the time of a 10,000-point flush). NaN is stored as NULL. PostgreSQL takes them in one COPY: an
        # executemany is one statement per point, even pipelined ten times slower.
        rows = [(run_id, k, s, t, None if v != v else v) for k, v, s, t in points]
        if self._copy_metric_sql:
            self._copy_rows(conn, self._copy_metric_sql, rows)
        else:
            conn.exec_driver_sql(self._insert_metric_sql, rows)
        upsert = self._insert(latest_metrics)
        excluded = upsert.excluded
        newer = sa.or_(
            excluded.step > latest_metrics.c.step,
            sa.and_(excluded.step == latest_metrics.c.step, excluded.timestamp >= latest_metrics.c.timestamp),
        )
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["run_id", "key"],
                set_={"step": excluded.step, "timestamp": excluded.timestamp, "value": excluded.value},
                where=newer,
            ),
            [
                {"run_id": run_id, "key": k, "step": s, "timestamp": t, "value": None if v != v else v}
                for k, v, s, t in latest.values()
            ],
        )

    @staticmethod
    def _copy_rows(conn: sa.Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """``COPY … FROM STDIN`` of ``rows`` in this connection's transaction; the driver's errors come out as
        SQLAlchemy's (a value out of range a ``DataError``), as an ``execute`` would raise them."""
        import psycopg

        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
        finally:
            cursor.close()

    def next_steps(self, run_id: str) -> dict[str, int]:
        """Per metric key, one past the highest step logged (the latest row holds the highest step)."""
        with self._read() as conn:
            query = sa.select(latest_metrics.c.key, latest_metrics.c.step).where(latest_metrics.c.run_id == run_id)
            return {key: step + 1 for key, step in conn.execute(query).all()}

    def get_metric_history(self, run_id: str, key: str, *, max_points: int | None = None) -> list[Metric]:
        """Every point of one metric in step order, or at most ``max_points`` of them for a chart.

        Downsampled (see ``_history``): the first and last point, and per bucket of steps the lowest and
        the highest, chosen in the database; a history of no more than ``max_points`` points comes whole.
        """
        limit = None if max_points is None else _history.check_max_points(max_points)
        with self._read() as conn:
            self._require_run(conn, run_id)
            if limit is not None and (sampled := _history.read_downsampled(conn, run_id, key, limit)) is not None:
                return sampled
            # Straight from the driver's cursor into named tuples: an index-only scan already in step
            # order, and no per-row work beyond building the tuple (NULL is how NaN is stored).
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(self._history_sql, (key, run_id, key))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        new = tuple.__new__
        return [new(Metric, row) if row[1] is not None else Metric(key, math.nan, row[2], row[3]) for row in rows]

    # artifacts --------------------------------------------------------------------------------------

    def add_artifacts(self, run_id: str, items: Iterable[RunArtifact]) -> None:
        # the store refuses escaping paths itself: a client of the server may send any string
        rows = [
            {"run_id": run_id, "path": check_artifact_path(a.path), "digest": a.digest, "size": a.size} for a in items
        ]
        if not rows:
            return
        with self._write() as conn:
            self._require_writable(conn, run_id)
            upsert = self._insert(run_artifacts)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["run_id", "path"],
                    set_={"digest": upsert.excluded.digest, "size": upsert.excluded.size},
                ),
                rows,
            )

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[RunArtifact]:
        with self._read() as conn:
            self._require_run(conn, run_id)
            query = sa.select(run_artifacts.c.path, run_artifacts.c.digest, run_artifacts.c.size).where(
                run_artifacts.c.run_id == run_id
            )
            if prefix:
                query = query.where(
                    sa.or_(
                        run_artifacts.c.path == prefix,
                        run_artifacts.c.path.startswith(prefix.rstrip("/") + "/", autoescape=True),
                    )
                )
            return [RunArtifact(p, d, s) for p, d, s in conn.execute(query.order_by(run_artifacts.c.path)).all()]

    def referenced_digests(self, excluding_runs: Sequence[str] = ()) -> set[str]:
        """Every blob something refers to: run artifacts, dataset versions, model packages and their files,
        verdict reports, prediction-log segments and drift references.

        ``excluding_runs`` lets a dry run of gc leave out the artifacts of runs it would purge.
        """
        artifacts = sa.select(run_artifacts.c.digest)
        if excluding_runs:
            artifacts = artifacts.where(run_artifacts.c.run_id.not_in(list(excluding_runs)))
        query = sa.union(
            artifacts,
            sa.select(dataset_versions.c.blob_digest),
            sa.select(model_versions.c.artifact_digest),
            sa.select(model_version_files.c.digest),
            sa.select(verdicts.c.report_digest).where(verdicts.c.report_digest.is_not(None)),
            sa.select(prediction_segments.c.blob_digest),
            sa.select(drift_references.c.blob_digest),
        )
        with self._read() as conn:
            return set(conn.execute(query).scalars())

    # reading runs -----------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            rows = conn.execute(_RUN_BY_ID, {"run_id": run_id}).all()
            if not rows:
                raise NotFound(f"No run with id {run_id!r}. List runs with `shipyard runs list --project NAME`.")
            return self._records(conn, rows)[0]

    def search_runs(
        self,
        project: str | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage:
        comparisons = parse_filter(filter)
        ordering = parse_order_by(order_by)
        _search.check_max_results(max_results)
        offset, after = _search.decode_page_token(page_token)
        if after is not None and ordering:
            raise InvalidInput(
                "This page token continues a listing in the default order (newest first), not one with order_by; "
                "pass the next_page_token of the same search."
            )
        with self._read() as conn:
            query: sa.Select[Any] = _RUN_COLUMNS
            project_id = None if project is None else self._project_id(conn, project, create=False)
            if project_id is not None:
                query = query.where(runs.c.project_id == project_id)
            if not include_deleted:
                query = query.where(runs.c.deleted_at.is_(None))
            crashed_before = now_ms() - self.heartbeat_timeout_ms
            dead: list[str] = []
            if any(c.entity == "attributes" and c.key == "status" and c.value in _LIVE for c in comparisons):
                dead = self._dead_here(conn, crashed_before, project_id)
            query, joined = _search.apply_filter(query, comparisons, crashed_before, dead)
            if after is not None:
                query = query.where(_search.after_run(*after))
            query = _search.apply_order(query, ordering, joined, self.engine.dialect.name)
            query = query.limit(max_results + 1).offset(offset)
            rows = conn.execute(query).all()
            records = self._records(conn, rows[:max_results])
        token = None
        if len(rows) > max_results:
            # In the default order the next page starts after this one's last run: it costs what the first page
            # does, and a run started meanwhile shifts nothing. A page in another order counts from the start.
            last = rows[max_results - 1]
            token = (
                _search.encode_page_token(offset + max_results)
                if ordering
                else _search.encode_page_token(after=(last.start_time, last.id))
            )
        return RunPage(records, token)

    @staticmethod
    def _dead_here(conn: sa.Connection, crashed_before: int, project_id: int | None) -> list[str]:
        """Runs marked running, heartbeat still fresh, whose process on this host is gone.

        ``_effective_status`` shows them crashed at once, so a filter on running or crashed must say the
        same. Only such a filter pays for this: one pass over the (project's) runs, as the filter makes anyway.
        """
        query = sa.select(runs.c.id, runs.c.pid).where(
            runs.c.status == RunStatus.RUNNING.value, runs.c.heartbeat_at >= crashed_before, runs.c.host == hostname()
        )
        if project_id is not None:
            query = query.where(runs.c.project_id == project_id)
        return [run_id for run_id, pid in conn.execute(query).all() if not process_alive(hostname(), pid)]

    def _records(self, conn: sa.Connection, rows: Sequence[Any]) -> list[RunRecord]:
        ids = [row.id for row in rows]
        params_by, tags_by, metrics_by = _run_values(conn, ids)
        names = self._project_names(conn, {row.project_id for row in rows})
        crashed_before = now_ms() - self.heartbeat_timeout_ms
        return [
            RunRecord(
                id=row.id,
                project=names[row.project_id],
                name=row.name,
                status=self._effective_status(row, crashed_before),
                start_time=row.start_time,
                end_time=row.end_time,
                parent_id=row.parent_id,
                params=params_by.get(row.id, {}),
                metrics={k: math.nan if v is None else v for k, v in metrics_by.get(row.id, {}).items()},
                tags=tags_by.get(row.id, {}),
                environment_json=row.environment,
                deleted=row.deleted_at is not None,
            )
            for row in rows
        ]

    @staticmethod
    def _effective_status(row: Any, crashed_before: int) -> RunStatus:
        status = RunStatus(row.status)
        if status is RunStatus.RUNNING and (row.heartbeat_at < crashed_before or not process_alive(row.host, row.pid)):
            return RunStatus.CRASHED
        return status


_LIVE = (RunStatus.RUNNING.value, RunStatus.CRASHED.value)  # the statuses a dead process changes

# Statements of the hot paths, built once: constructing a statement costs more than running it on SQLite.
_RUN_STATE = sa.select(runs.c.status, runs.c.deleted_at).where(runs.c.id == sa.bindparam("run_id"))
_RUN_STATE_FOR_WRITE = _RUN_STATE.with_for_update(key_share=True)  # SQLite: no clause (its writers take turns)
_END_RUN = (
    runs.update()
    .where(runs.c.id == sa.bindparam("run_id"), runs.c.status == RunStatus.RUNNING.value)
    .values(status=sa.bindparam("status"), end_time=sa.bindparam("end_time"))
)


def _refused_points(points: Sequence[MetricRow], exc: BaseException) -> str:
    # Off the hot path: only once the driver or the database has refused a write.
    for point in points:
        problem = metric_point_problem(point)
        if problem is not None:
            key, _, step, timestamp = point
            return (
                f"The store cannot hold the metric point ({key!r}, step {step}, timestamp {timestamp}): {problem} "
                "Nothing of this write was stored."
            )
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"The database refused these metric points: {reason}. Nothing of this write was stored."


def _environment_json(environment: Mapping[str, Any]) -> str:
    # Every run of a process carries the same captured environment; encode it once.
    cached = _ENV_CACHE.get(id(environment))
    if cached is None or cached[0] is not environment:
        cached = (environment, json.dumps(environment, sort_keys=True, default=str))
        _ENV_CACHE.clear()
        _ENV_CACHE[id(environment)] = cached
    return cached[1]


_ENV_CACHE: dict[int, tuple[Mapping[str, Any], str]] = {}

# Runs without their project's name: ``_records`` looks the names up for the page alone. Joined (or as a
# subquery) the name cost more than it shows: with ``projects`` joined SQLite put it in the outer loop, lost the
# order of the index the search reads and sorted every matching run (0.6 s at 1M runs); as a subquery both
# databases computed it for every run an offset skips (PostgreSQL: 2x the page).
_RUN_COLUMNS = sa.select(
    runs.c.id,
    runs.c.project_id,
    runs.c.name,
    runs.c.status,
    runs.c.parent_id,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.heartbeat_at,
    runs.c.host,
    runs.c.pid,
    runs.c.environment,
    runs.c.deleted_at,
)


_RUN_BY_ID = _RUN_COLUMNS.where(runs.c.id == sa.bindparam("run_id"))


def _values_query() -> sa.CompoundSelect[Any]:
    ids: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
    texts = [
        sa.select(
            sa.literal(kind).label("kind"),
            table.c.run_id,
            table.c.key,
            table.c.value.label("text"),
            sa.cast(sa.null(), sa.Double).label("number"),
        ).where(table.c.run_id.in_(ids))
        for table, kind in ((params, "p"), (tags, "t"))
    ]
    numbers = sa.select(
        sa.literal("m").label("kind"),
        latest_metrics.c.run_id,
        latest_metrics.c.key,
        sa.cast(sa.null(), sa.Text).label("text"),
        latest_metrics.c.value.label("number"),
    ).where(latest_metrics.c.run_id.in_(ids))
    query = sa.union_all(*texts, numbers)
    return query.order_by(query.selected_columns.key)


_VALUES = _values_query()
"""Built once: the statement is the same for every read but its ids (building it cost a third of a read)."""


def _run_values(
    conn: sa.Connection, ids: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The params, tags and latest metrics of runs, in one statement per chunk of ids (a run read is on
    every hot path: a server answers it per request)."""
    found: dict[str, dict[str, dict[str, Any]]] = {"p": {}, "t": {}, "m": {}}
    for chunk in chunks(ids):
        for kind, run_id, key, text, number in conn.execute(_VALUES, {"ids": list(chunk)}).all():
            found[kind].setdefault(run_id, {})[key] = number if kind == "m" else text
    return found["p"], found["t"], found["m"]


def _check_pid(pid: int) -> None:
    """A process id the operating system could have given (0: none); liveness checks pass it to ``os.kill``."""
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 <= pid < 2**31:
        raise InvalidInput(f"A run's pid is a process id from 0 (none) to 2**31 - 1; got {pid!r}.")
