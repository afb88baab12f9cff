"""Which project a row belongs to: what a server asks before it lets a token touch a row named by its id.

Methods of the backend seam that name a run, a model version, a dataset version, an alert, a loop or a
schedule by id carry no project; a server must not take the client's word for it. ``project_of`` answers
from the row itself with one indexed query.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipyard.store.schema import (
    alerts,
    dataset_versions,
    datasets,
    model_versions,
    projects,
    registered_models,
    retrain_loops,
    runs,
    schedules,
)

KINDS = ("run", "model_version", "dataset_version", "alert", "loop", "schedule")


def _query(kind: str, key: object) -> sa.Select[Any]:
    name = sa.select(projects.c.name)
    if kind == "run":
        return name.join(runs, runs.c.project_id == projects.c.id).where(runs.c.id == key)
    if kind == "model_version":
        return (
            name.join(registered_models, registered_models.c.project_id == projects.c.id)
            .join(model_versions, model_versions.c.model_id == registered_models.c.id)
            .where(model_versions.c.id == key)
        )
    if kind == "dataset_version":
        return (
            name.join(datasets, datasets.c.project_id == projects.c.id)
            .join(dataset_versions, dataset_versions.c.dataset_id == datasets.c.id)
            .where(dataset_versions.c.id == key)
        )
    table = {"alert": alerts, "loop": retrain_loops, "schedule": schedules}[kind]
    return name.join(table, table.c.project_id == projects.c.id).where(table.c.id == key)


class ScopeStore:
    """``project_of(kind, id)``: the project of a row, or None when there is no such row.

    A run never moves to another project and its id (a random 128-bit hex) is never given to another, so a
    run's answer is remembered (up to ``CACHED`` of them). Rows with integer ids are asked each time: a
    deleted row's id may be given again to a row of another project (SQLite reuses the highest rowid).
    """

    CACHED = 100_000

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._known: dict[tuple[str, str | int], str] = {}

    def project_of(self, kind: str, key: str | int) -> str | None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")  # a programming error in the server's table, not input
        known = self._known.get((kind, key))
        if known is not None:
            return known
        with self._engine.connect() as conn:
            found = conn.execute(_query(kind, key)).scalar()
        if found is None:
            return None
        if kind != "run":
            return str(found)
        if len(self._known) >= self.CACHED:
            self._known.clear()
        self._known[(kind, key)] = str(found)
        return str(found)

    def record_refusal(self, actor: str, action: str, project: str | None, details: dict[str, object]) -> None:
        """An audit event for a write the server refused: who tried what, where."""
        from shipyard.store import audit
        from shipyard.store.policies import project_id_if_any

        with self._engine.begin() as conn:
            project_id = None if project is None else project_id_if_any(conn, project)
            audit.record(conn, actor, action, project_id, f"project:{project}" if project else "server", details)

    def ping(self) -> None:
        """One round trip to the database; ``StoreError`` when it does not answer."""
        from shipyard.core.errors import StoreError

        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as e:
            raise StoreError(f"The metadata database does not answer: {type(e).__name__}.") from None
