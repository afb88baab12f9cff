"""Canaries in the metadata store: a share of a model's traffic sent to one version, and their history.

Starting a canary checks the version (it exists, is active, is not the champion) and that no other canary
of the model runs, in the transaction that inserts it, with the model's row locked as alias moves lock it:
a version cannot be archived or made champion between the check and the start. ``uq_canaries_running``
backs this up: even two starts racing past the checks cannot leave two canaries running. Every start and
end writes its audit event (subject ``model:NAME``) in the same transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import Canary
from shipyard.core.errors import Conflict, GateBlocked, NotFound, PermissionDenied
from shipyard.core.refs import Ref
from shipyard.store import audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.registry import CHAMPION, RegistryStore, authorize
from shipyard.store.schema import canaries, model_aliases, model_versions, projects, registered_models

_CANARIES = sa.select(canaries, projects.c.name.label("project")).select_from(
    canaries.join(projects, projects.c.id == canaries.c.project_id)
)
_RUNNING = "running"


class CanaryStore(StoreBase):
    """Start and end canaries; the running one of a model; their history."""

    def start(
        self,
        project: str,
        model: str,
        version: int,
        share: float,
        *,
        reason: str,
        actor: str,
        override_reason: str | None = None,
    ) -> Canary:
        """Start a canary of ``model@version`` taking ``share`` (0 < share < 1) of the model's traffic.

        ``NotFound`` for a version that does not exist, ``Conflict`` for an archived one, the champion, or
        while another canary of the model runs (naming it and how to end it). A canary takes live traffic:
        like a protected alias it needs a passing verdict under the policy in force (``GateBlocked``), or an
        admin's override, decided here in the transaction that starts it.
        """
        try:
            with self._write() as conn:
                project_id = self._project_id(conn, project, create=False)
                model_id = self._lock_model(conn, project_id, model)
                self._check_version(conn, model_id, model, version)
                running = self._running(conn, project_id, model)
                if running is not None:
                    raise _already_running(running)
                target = RegistryStore(self.engine)._resolve(conn, project, Ref(model, version=version))
                authority = authorize(
                    conn, project_id, target, actor, override_reason, what="take live traffic as a canary", canary=True
                )
                canary_id = conn.execute(
                    canaries.insert()
                    .values(
                        project_id=project_id,
                        model=model,
                        version=version,
                        share=share,
                        state=_RUNNING,
                        reason=reason,
                        started_at=now_ms(),
                        started_by=actor,
                    )
                    .returning(canaries.c.id)
                ).scalar_one()
                details = {
                    "canary_id": canary_id,
                    "version": version,
                    "share": share,
                    "reason": reason,
                    "authorized_by": authority,
                }
                audit.record(conn, actor, "canary.start", project_id, f"model:{model}", details)
                return _canary(conn.execute(_CANARIES.where(canaries.c.id == canary_id)).one())
        except (GateBlocked, PermissionDenied) as refused:
            RegistryStore(self.engine).record_refusal(
                project, f"model:{model}@{version}", actor, refused, canary=True, share=share
            )
            raise
        except sa.exc.IntegrityError:  # another start won between our check and our insert
            winner = self.running(project, model)
            if winner is None:
                raise Conflict(f"Another canary of {model!r} was started and ended meanwhile; try again.") from None
            raise _already_running(winner) from None

    def end(self, project: str, model: str, outcome: str, *, reason: str, actor: str) -> Canary:
        """End the model's running canary as ``outcome``; ``NotFound`` if none runs. No alias moves."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            running = self._running(conn, project_id, model)
            if running is None:
                raise self._none_running(conn, project_id, model)
            ended = conn.execute(
                canaries.update()
                .where(canaries.c.id == running.id, canaries.c.state == _RUNNING)
                .values(state=outcome, end_reason=reason, ended_at=now_ms(), ended_by=actor)
            )
            if ended.rowcount != 1:  # ended by someone else since we read it
                raise self._none_running(conn, project_id, model)
            details = {"canary_id": running.id, "version": running.version, "outcome": outcome, "reason": reason}
            audit.record(conn, actor, "canary.end", project_id, f"model:{model}", details)
            return _canary(conn.execute(_CANARIES.where(canaries.c.id == running.id)).one())

    def running(self, project: str, model: str) -> Canary | None:
        """The model's running canary, or None: one indexed read (every server polls it)."""
        query = _CANARIES.where(projects.c.name == project, canaries.c.model == model, canaries.c.state == _RUNNING)
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _canary(row)

    def history(self, project: str, model: str, *, limit: int = 20) -> list[Canary]:
        """The model's canaries, newest first (the running one, if any, among them)."""
        query = (
            _CANARIES.where(projects.c.name == project, canaries.c.model == model)
            .order_by(canaries.c.started_at.desc(), canaries.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [_canary(row) for row in conn.execute(query).all()]

    # checks -----------------------------------------------------------------------------------------

    def _lock_model(self, conn: sa.Connection, project_id: int, model: str) -> int:
        query = sa.select(registered_models.c.id).where(
            registered_models.c.project_id == project_id, registered_models.c.name == model
        )
        if conn.dialect.name == "postgresql":  # serialise with alias moves; SQLite's IMMEDIATE already does
            query = query.with_for_update()
        found = conn.execute(query).scalar()
        if found is None:
            raise NotFound(f"No registered model named {model!r}; see `shipyard models list`.")
        return int(found)

    def _check_version(self, conn: sa.Connection, model_id: int, model: str, version: int) -> None:
        status = conn.execute(
            sa.select(model_versions.c.status).where(
                model_versions.c.model_id == model_id,
                model_versions.c.version == version,
                model_versions.c.deleted_at.is_(None),
            )
        ).scalar()
        ref = f"{model}@{version}"
        if status is None:
            raise NotFound(f"Model {model!r} has no version {version}; see `shipyard models show {model} --versions`.")
        if status != "active":
            raise Conflict(
                f"{ref} is {status}; restore it (`shipyard models restore {model} {version}`) before it takes traffic."
            )
        champion = conn.execute(
            sa.select(model_versions.c.version)
            .join(model_aliases, model_aliases.c.model_version_id == model_versions.c.id)
            .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == CHAMPION)
        ).scalar()
        if champion == version:
            raise Conflict(
                f"{ref} is the champion already: it answers the traffic a canary would take. "
                "Start a canary of another version."
            )

    def _running(self, conn: sa.Connection, project_id: int, model: str) -> Canary | None:
        mine = sa.and_(canaries.c.project_id == project_id, canaries.c.model == model)
        row = conn.execute(_CANARIES.where(mine, canaries.c.state == _RUNNING)).first()
        return None if row is None else _canary(row)

    def _none_running(self, conn: sa.Connection, project_id: int, model: str) -> NotFound:
        last = conn.execute(
            _CANARIES.where(canaries.c.project_id == project_id, canaries.c.model == model)
            .order_by(canaries.c.started_at.desc(), canaries.c.id.desc())
            .limit(1)
        ).first()
        before = "" if last is None else f" (the last one, {model}@{last.version}, ended as {last.state})"
        return NotFound(
            f"Model {model!r} has no running canary{before}. "
            f"Start one with `shipyard models canary {model} VERSION --share PERCENT`."
        )


def _already_running(running: Canary) -> Conflict:
    return Conflict(
        f"{running.ref} is already a canary of {running.model!r} ({running.share * 100:g}% of traffic, started by "
        f"{running.started_by}); a model has one canary at a time. End it first: "
        f"`shipyard models canary-end {running.model} --outcome stopped` "
        f"(or client.models.end_canary({running.model!r}, 'stopped'))."
    )


def _canary(row: sa.Row[Any]) -> Canary:
    m = row._mapping
    return Canary(
        id=int(m["id"]),
        project=m["project"],
        model=m["model"],
        version=int(m["version"]),
        share=float(m["share"]),
        state=m["state"],
        reason=m["reason"],
        started_at=int(m["started_at"]),
        started_by=m["started_by"],
        ended_at=m["ended_at"],
        ended_by=m["ended_by"],
        end_reason=m["end_reason"],
    )
