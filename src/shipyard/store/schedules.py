"""Cron schedules of pipelines in the metadata store.

A scheduler takes a schedule's *lease* before running it: one conditional ``UPDATE`` that only
matches while the schedule is due and nobody else holds an unexpired lease. The database decides
which of two racing schedulers wins (SQLite serialises writers; PostgreSQL re-checks the ``WHERE``
after the row lock is released), so a schedule never runs twice at once. The holder renews the lease
while the run lasts and clears it when the run ends; a lease whose holder died expires, and then any
scheduler may take the schedule over.
"""

from __future__ import annotations

import builtins
import difflib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import Schedule
from shipyard.core.errors import NotFound
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import projects, schedules

_COLUMNS = sa.select(schedules, projects.c.name.label("project")).select_from(
    schedules.join(projects, projects.c.id == schedules.c.project_id)
)
_HINT = "List schedules with `shipyard pipeline schedules`."


class ScheduleStore(StoreBase):
    """Schedules, and the lease a scheduler takes to run one."""

    def upsert(
        self,
        project: str,
        name: str,
        *,
        target: str,
        cron: str,
        params: Mapping[str, str],
        options: Mapping[str, Any],
        next_run_at: int,
        actor: str,
    ) -> Schedule:
        """Create a schedule, or replace the definition of an existing one (enabling it again).

        The history (last run, its status) and a lease held by a running scheduler are kept.
        """
        definition = {
            "target": target,
            "cron": cron,
            "params": json.dumps(dict(params), sort_keys=True),
            "options": json.dumps(dict(options), sort_keys=True),
            "enabled": True,
            "next_run_at": next_run_at,
        }
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=True)
            insert = self._insert(schedules).values(
                project_id=project_id, name=name, created_at=now_ms(), created_by=actor, **definition
            )
            conn.execute(insert.on_conflict_do_update(index_elements=["project_id", "name"], set_=definition))
            row = conn.execute(_COLUMNS.where(schedules.c.project_id == project_id, schedules.c.name == name)).one()
            return _record(row)

    def get(self, project: str, name: str) -> Schedule:
        """One schedule; ``NotFound`` names the schedules that do exist."""
        with self._read() as conn:
            row = conn.execute(_COLUMNS.where(projects.c.name == project, schedules.c.name == name)).first()
        if row is None:
            raise self._not_found(project, name)
        return _record(row)

    def delete(self, project: str, name: str) -> None:
        with self._write() as conn:
            found = conn.execute(
                sa.select(schedules.c.id)
                .select_from(schedules.join(projects))
                .where(projects.c.name == project, schedules.c.name == name)
            ).scalar()
            if found is None:
                raise self._not_found(project, name)
            conn.execute(sa.delete(schedules).where(schedules.c.id == found))

    def set_enabled(self, project: str, name: str, enabled: bool) -> Schedule:
        """Pause (``False``) or resume (``True``) a schedule; a run in progress is not stopped."""
        with self._write() as conn:
            project_ids = sa.select(projects.c.id).where(projects.c.name == project).scalar_subquery()
            result = conn.execute(
                sa.update(schedules)
                .where(schedules.c.project_id == project_ids, schedules.c.name == name)
                .values(enabled=enabled)
            )
        if result.rowcount != 1:
            raise self._not_found(project, name)
        return self.get(project, name)

    def _not_found(self, project: str, name: str) -> NotFound:
        known = [s.name for s in self.list(project)]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        return NotFound(
            f"No schedule named {name!r} in project {project!r}. {hint}"
            f"Schedules there: {', '.join(known) or 'none'}. {_HINT}"
        )

    # leases -----------------------------------------------------------------------------------------

    def claim_due(self, now: int, owner: str, lease_ms: int) -> builtins.list[Schedule]:
        """Take the lease of every enabled schedule due at ``now`` (ms) that nobody else holds.

        Each claim is its own conditional UPDATE, so of two schedulers racing for one schedule exactly
        one sees a row count of 1; the other moves on.
        """
        free = sa.or_(schedules.c.lease_owner.is_(None), schedules.c.lease_until < now)
        due = sa.and_(schedules.c.enabled.is_(True), schedules.c.next_run_at <= now, free)
        with self._read() as conn:
            candidates = list(conn.execute(sa.select(schedules.c.id).where(due).order_by(schedules.c.id)).scalars())
        claimed = []
        for schedule_id in candidates:
            with self._write() as conn:
                result = conn.execute(
                    sa.update(schedules)
                    .where(schedules.c.id == schedule_id, due)
                    .values(lease_owner=owner, lease_until=now + lease_ms)
                )
            if result.rowcount == 1:
                claimed.append(schedule_id)
        if not claimed:
            return []
        with self._read() as conn:
            rows = conn.execute(_COLUMNS.where(schedules.c.id.in_(claimed)).order_by(schedules.c.id)).all()
        return [_record(row) for row in rows]

    def renew(self, schedule_id: int, owner: str, lease_until: int) -> bool:
        """Extend a lease ``owner`` holds; False if it holds it no longer (it expired and was taken)."""
        with self._write() as conn:
            result = conn.execute(
                sa.update(schedules)
                .where(schedules.c.id == schedule_id, schedules.c.lease_owner == owner)
                .values(lease_until=lease_until)
            )
        return bool(result.rowcount == 1)

    def release(
        self,
        schedule_id: int,
        owner: str,
        *,
        run_id: str | None,
        status: str,
        finished_at: int,
        next_run_at: int,
        cron: str | None = None,
    ) -> bool:
        """Record a finished run and clear the lease, only if ``owner`` still holds it.

        With ``cron`` (the expression ``next_run_at`` was computed from), a schedule redefined while it
        ran keeps the next run time its new definition set.
        """
        next_value: Any = next_run_at
        if cron is not None:
            next_value = sa.case((schedules.c.cron == cron, next_run_at), else_=schedules.c.next_run_at)
        with self._write() as conn:
            result = conn.execute(
                sa.update(schedules)
                .where(schedules.c.id == schedule_id, schedules.c.lease_owner == owner)
                .values(
                    lease_owner=None,
                    lease_until=None,
                    last_run_id=run_id,
                    last_status=status,
                    last_run_at=finished_at,
                    next_run_at=next_value,
                )
            )
        return bool(result.rowcount == 1)

    def earliest_next_run(self, after: int) -> int | None:
        """The soonest ``next_run_at`` later than ``after`` (ms) of any enabled schedule."""
        query = sa.select(sa.func.min(schedules.c.next_run_at)).where(
            schedules.c.enabled.is_(True), schedules.c.next_run_at > after
        )
        with self._read() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def list(self, project: str | None = None) -> builtins.list[Schedule]:
        """Schedules of one project (or of all), by project and name."""
        query = _COLUMNS.order_by(projects.c.name, schedules.c.name)
        if project is not None:
            query = query.where(projects.c.name == project)
        with self._read() as conn:
            return [_record(row) for row in conn.execute(query).all()]


def _record(row: Any) -> Schedule:
    return Schedule(
        id=row.id,
        project=row.project,
        name=row.name,
        target=row.target,
        cron=row.cron,
        params=json.loads(row.params),
        options=json.loads(row.options),
        enabled=bool(row.enabled),
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_run_id=row.last_run_id,
        last_status=row.last_status,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        created_at=row.created_at,
        created_by=row.created_by,
    )
