"""Monitoring in the metadata store: drift references, the windows a monitor evaluated, and alerts.

An alert belongs to one rule of one monitor. While the rule keeps failing, its unresolved alert is updated
(one more window, the latest message) rather than a new one raised: a partial unique index allows one
unresolved alert per monitor and rule, so even two evaluators racing cannot open two. An alert is
``open`` until someone acknowledges it (``acknowledged``: known, being handled) and ``resolved`` when the
rule passes again or someone resolves it; a later failure then opens a new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities_monitoring import ALERT_STATES, NOTIFY_STATES, Alert, WindowRecord
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import alerts, drift_references, monitor_windows, projects

_WINDOWS = sa.select(monitor_windows, projects.c.name.label("project")).select_from(
    monitor_windows.join(projects, projects.c.id == monitor_windows.c.project_id)
)
_ALERTS = sa.select(alerts, projects.c.name.label("project")).select_from(
    alerts.join(projects, projects.c.id == alerts.c.project_id)
)


class MonitorStore(StoreBase):
    """References, windows and alerts of monitors."""

    # references -------------------------------------------------------------------------------------

    def put_reference(self, key: str, blob_digest: str, format: int) -> None:
        """Record that the drift reference ``key`` is stored as ``blob_digest`` (replacing an older one)."""
        values = {"key": key, "blob_digest": blob_digest, "format": format, "created_at": now_ms()}
        insert = self._insert(drift_references).values(**values)
        with self._write() as conn:
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["key"], set_={"blob_digest": blob_digest, "format": format}
                )
            )

    def get_reference(self, key: str) -> tuple[str, int] | None:
        """``(blob_digest, format)`` of the reference ``key``, or None if it was never computed."""
        query = sa.select(drift_references.c.blob_digest, drift_references.c.format).where(
            drift_references.c.key == key
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (str(row[0]), int(row[1]))

    # windows ----------------------------------------------------------------------------------------

    def add_window(
        self,
        project: str,
        monitor: str,
        *,
        model: str,
        version: int | None,
        start_at: int,
        end_at: int,
        rows: int,
        status: str,
        results: Mapping[str, Any],
    ) -> WindowRecord:
        """Store an evaluated window; evaluating the same window again replaces its results."""
        values = {
            "model": model,
            "version": version,
            "rows": rows,
            "status": status,
            "results": json.dumps(results, default=str),
            "created_at": now_ms(),
        }
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=True)
            key = {"project_id": project_id, "monitor": monitor, "start_at": start_at, "end_at": end_at}
            insert = self._insert(monitor_windows).values(**key, **values)
            conn.execute(insert.on_conflict_do_update(index_elements=list(key), set_=values))
            row = conn.execute(_WINDOWS.where(*(monitor_windows.c[name] == value for name, value in key.items()))).one()
        return _window(row)

    def windows(
        self, project: str, monitor: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[WindowRecord]:
        """The monitor's windows ending after ``since_ms``, oldest first (the latest ``limit`` of them)."""
        with self._read() as conn:
            query = _WINDOWS.where(
                monitor_windows.c.project_id == self._project_id(conn, project, create=False),
                monitor_windows.c.monitor == monitor,
            )
            if since_ms is not None:
                query = query.where(monitor_windows.c.end_at > since_ms)
            query = query.order_by(monitor_windows.c.end_at.desc(), monitor_windows.c.id.desc())
            if limit is not None:
                query = query.limit(limit)
            rows = conn.execute(query).all()
        return [_window(row) for row in reversed(rows)]

    def last_window(self, project: str, monitor: str) -> WindowRecord | None:
        try:
            found = self.windows(project, monitor, limit=1)
        except NotFound:  # no project yet: nothing was ever evaluated
            return None
        return found[0] if found else None

    # alerts -----------------------------------------------------------------------------------------

    def raise_alert(
        self, project: str, monitor: str, rule: str, *, model: str, message: str, details: Mapping[str, Any]
    ) -> tuple[Alert, bool]:
        """Open an alert for ``rule``, or add this window to its unresolved one; ``(alert, newly_opened)``."""
        now = now_ms()
        for attempt in (1, 2):
            try:
                with self._write() as conn:
                    project_id = self._project_id(conn, project, create=True)
                    current = self._unresolved(conn, project_id, monitor, rule)
                    if current is not None:
                        conn.execute(
                            alerts.update()
                            .where(alerts.c.id == current)
                            .values(
                                windows=alerts.c.windows + 1,
                                message=message,
                                details=json.dumps(details, default=str),
                                updated_at=now,
                            )
                        )
                        alert_id, new = current, False
                    else:
                        insert = alerts.insert().values(
                            project_id=project_id,
                            monitor=monitor,
                            rule=rule,
                            model=model,
                            state="open",
                            message=message,
                            details=json.dumps(details, default=str),
                            windows=1,
                            opened_at=now,
                            updated_at=now,
                            notify_state="none",
                            notify_attempts=0,
                        )
                        alert_id, new = int(conn.execute(insert.returning(alerts.c.id)).scalar_one()), True
                return self.get_alert(alert_id), new
            except sa.exc.IntegrityError:  # another evaluator opened it first: add to theirs
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def resolve_rule(self, project: str, monitor: str, rule: str, *, by: str = "monitor") -> Alert | None:
        """Resolve the rule's unresolved alert (it passes again); None if it had none."""
        with self._write() as conn:
            try:
                project_id = self._project_id(conn, project, create=False)
            except NotFound:
                return None
            current = self._unresolved(conn, project_id, monitor, rule)
            if current is None:
                return None
            self._set_state(conn, current, "resolved", by)
        return self.get_alert(current)

    def set_state(self, alert_id: int, state: str, *, by: str) -> Alert:
        """Acknowledge or resolve an alert by hand; a resolved alert stays resolved."""
        if state not in ("acknowledged", "resolved"):
            raise InvalidInput(f"An alert can be set to acknowledged or resolved; got {state!r}.")
        alert = self.get_alert(alert_id)
        if alert.state == "resolved":
            raise InvalidInput(f"Alert {alert_id} is already resolved; a new failure of its rule opens a new alert.")
        if alert.state == state:
            return alert
        with self._write() as conn:
            self._set_state(conn, alert_id, state, by)
        return self.get_alert(alert_id)

    def get_alert(self, alert_id: int) -> Alert:
        with self._read() as conn:
            row = conn.execute(_ALERTS.where(alerts.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"No alert with id {alert_id}. List alerts with `shipyard monitor alerts`.")
        return _alert(row)

    def alerts(
        self,
        project: str | None = None,
        *,
        states: tuple[str, ...] | None = None,
        monitor: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Alerts, newest first, optionally only in ``states`` and of one ``monitor``."""
        for state in states or ():
            if state not in ALERT_STATES:
                raise InvalidInput(f"Unknown alert state {state!r}; expected one of {', '.join(ALERT_STATES)}.")
        with self._read() as conn:
            query = _ALERTS
            if project is not None:
                query = query.where(alerts.c.project_id == self._project_id(conn, project, create=False))
            if states:
                query = query.where(alerts.c.state.in_(states))
            if monitor is not None:
                query = query.where(alerts.c.monitor == monitor)
            rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit)).all()
        return [_alert(row) for row in rows]

    def set_notification(self, alert_id: int, state: str, *, attempts: int, error: str | None = None) -> None:
        if state not in NOTIFY_STATES:
            raise InvalidInput(f"Unknown notification state {state!r}; expected one of {', '.join(NOTIFY_STATES)}.")
        with self._write() as conn:
            conn.execute(
                alerts.update()
                .where(alerts.c.id == alert_id)
                .values(notify_state=state, notify_attempts=attempts, notify_error=error)
            )

    def _unresolved(self, conn: sa.Connection, project_id: int, monitor: str, rule: str) -> int | None:
        query = sa.select(alerts.c.id).where(
            alerts.c.project_id == project_id,
            alerts.c.monitor == monitor,
            alerts.c.rule == rule,
            alerts.c.state != "resolved",
        )
        found = conn.execute(query).scalar()
        return None if found is None else int(found)

    @staticmethod
    def _set_state(conn: sa.Connection, alert_id: int, state: str, by: str) -> None:
        now = now_ms()
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if state == "resolved":
            values["resolved_at"] = now
        else:
            values["acknowledged_by"] = by
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))


def _window(row: sa.Row[Any]) -> WindowRecord:
    m = row._mapping
    return WindowRecord(
        id=int(m["id"]),
        project=m["project"],
        monitor=m["monitor"],
        model=m["model"],
        version=m["version"],
        start_at=int(m["start_at"]),
        end_at=int(m["end_at"]),
        rows=int(m["rows"]),
        status=m["status"],
        results=json.loads(m["results"]),
        created_at=int(m["created_at"]),
    )


def _alert(row: sa.Row[Any]) -> Alert:
    m = row._mapping
    return Alert(
        id=int(m["id"]),
        project=m["project"],
        monitor=m["monitor"],
        rule=m["rule"],
        model=m["model"],
        state=m["state"],
        message=m["message"],
        details=json.loads(m["details"]),
        windows=int(m["windows"]),
        opened_at=int(m["opened_at"]),
        updated_at=int(m["updated_at"]),
        resolved_at=m["resolved_at"],
        acknowledged_by=m["acknowledged_by"],
        notify_state=m["notify_state"],
        notify_attempts=int(m["notify_attempts"]),
        notify_error=m["notify_error"],
    )
