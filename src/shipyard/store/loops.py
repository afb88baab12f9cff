"""Retraining loops in the metadata store: one row per loop, moved step by step, each step audited.

A loop retrains a model, gates the result, canaries it and promotes it or rolls it back. Its row says which
step it has reached and what that step produced (the pipeline run, the candidate version, when the canary
started), so a loop whose process died is found by the next evaluator and carried on from its step. A
partial unique index allows one unfinished loop per model: a second alert for the same model while a loop
runs does not start another.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities_monitoring import LOOP_ENDINGS, LOOP_STEPS, LoopRecord
from shipyard.core.errors import Conflict, InvalidInput, NotFound
from shipyard.store import audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import projects, retrain_loops

STEPS = LOOP_STEPS
ENDINGS = LOOP_ENDINGS


_LOOPS = sa.select(retrain_loops, projects.c.name.label("project")).select_from(
    retrain_loops.join(projects, projects.c.id == retrain_loops.c.project_id)
)
_FIELDS = ("pipeline_run_id", "candidate_version", "canary_started_at")


class LoopStore(StoreBase):
    def start(
        self,
        project: str,
        model: str,
        *,
        monitor: str,
        alert_id: int | None,
        champion_version: int | None,
        baseline_version: int,
        actor: str,
        message: str,
    ) -> LoopRecord:
        """Open a loop at its first step; ``Conflict`` (naming it) while another loop of the model is unfinished."""
        now = now_ms()
        try:
            with self._write() as conn:
                project_id = self._project_id(conn, project, create=True)
                insert = retrain_loops.insert().values(
                    project_id=project_id,
                    model=model,
                    monitor=monitor,
                    alert_id=alert_id,
                    state=STEPS[0],
                    message=message,
                    champion_version=champion_version,
                    baseline_version=baseline_version,
                    started_at=now,
                    updated_at=now,
                    history=json.dumps([{"at": now, "state": STEPS[0], "message": message}]),
                )
                loop_id = int(conn.execute(insert.returning(retrain_loops.c.id)).scalar_one())
                audit.record(
                    conn, actor, "loop.start", project_id, f"model:{model}", {"loop": loop_id, "message": message}
                )
        except sa.exc.IntegrityError:
            running = self.active(project, model)
            which = f"loop {running.id} ({running.state})" if running else "another loop"
            raise Conflict(f"A retraining loop of {model!r} is already running: {which}.") from None
        return self.get(loop_id)

    def advance(self, loop_id: int, state: str, message: str, *, actor: str, **fields: Any) -> LoopRecord:
        """Move the loop to ``state`` (a step, or an ending that finishes it), recording ``fields`` it produced."""
        if state not in STEPS + ENDINGS:
            raise InvalidInput(
                f"Unknown retraining loop state {state!r}; expected one of {', '.join(STEPS + ENDINGS)}."
            )
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise InvalidInput(
                f"Unknown retraining loop fields {sorted(unknown)}; expected some of {', '.join(_FIELDS)}."
            )
        now = now_ms()
        values: dict[str, Any] = {"state": state, "message": message, "updated_at": now, **fields}
        if state in ENDINGS:
            values["ended_at"] = now
        with self._write() as conn:  # the history is read and extended in one transaction (row locked on PostgreSQL)
            row = conn.execute(_LOOPS.where(retrain_loops.c.id == loop_id).with_for_update(of=retrain_loops)).first()
            if row is None:
                raise NotFound(f"No retraining loop with id {loop_id}. List them with `shipyard monitor loops`.")
            current = _loop(row)
            values["history"] = json.dumps([*current.history, {"at": now, "state": state, "message": message}])
            conn.execute(retrain_loops.update().where(retrain_loops.c.id == loop_id).values(**values))
            detail = {"loop": loop_id, "message": message, **fields}
            audit.record(
                conn, actor, f"loop.{state}", int(row._mapping["project_id"]), f"model:{current.model}", detail
            )
        return self.get(loop_id)

    def get(self, loop_id: int) -> LoopRecord:
        with self._read() as conn:
            row = conn.execute(_LOOPS.where(retrain_loops.c.id == loop_id)).first()
        if row is None:
            raise NotFound(f"No retraining loop with id {loop_id}. List them with `shipyard monitor loops`.")
        return _loop(row)

    def active(self, project: str, model: str) -> LoopRecord | None:
        found = self.loops(project, model=model, unfinished=True, limit=1)
        return found[0] if found else None

    def loops(
        self, project: str | None = None, *, model: str | None = None, unfinished: bool = False, limit: int = 50
    ) -> list[LoopRecord]:
        """Loops, newest first."""
        query = _LOOPS
        with self._read() as conn:
            if project is not None:
                try:
                    query = query.where(retrain_loops.c.project_id == self._project_id(conn, project, create=False))
                except NotFound:
                    return []
            if model is not None:
                query = query.where(retrain_loops.c.model == model)
            if unfinished:
                query = query.where(retrain_loops.c.ended_at.is_(None))
            rows = conn.execute(query.order_by(retrain_loops.c.id.desc()).limit(limit)).all()
        return [_loop(row) for row in rows]


def _loop(row: sa.Row[Any]) -> LoopRecord:
    m = row._mapping
    return LoopRecord(
        id=int(m["id"]),
        project=m["project"],
        model=m["model"],
        monitor=m["monitor"],
        alert_id=m["alert_id"],
        state=m["state"],
        message=m["message"],
        champion_version=m["champion_version"],
        baseline_version=int(m["baseline_version"]),
        pipeline_run_id=m["pipeline_run_id"],
        candidate_version=m["candidate_version"],
        canary_started_at=m["canary_started_at"],
        started_at=int(m["started_at"]),
        updated_at=int(m["updated_at"]),
        ended_at=m["ended_at"],
        history=json.loads(m["history"]),
    )
