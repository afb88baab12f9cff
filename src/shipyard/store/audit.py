"""The audit log: who changed an alias, deleted or archived something, overrode the gate; when; details.

Events are written inside the transaction of the change they describe, so the log and the state can
never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import AuditEvent
from shipyard.store._base import now_ms
from shipyard.store.schema import audit_events, projects


def record(
    conn: sa.Connection, actor: str, action: str, project_id: int | None, subject: str, details: Mapping[str, Any]
) -> None:
    conn.execute(
        audit_events.insert().values(
            at=now_ms(),
            actor=actor,
            action=action,
            project_id=project_id,
            subject=subject,
            details=json.dumps(details, sort_keys=True, default=str),
        )
    )


def read(conn: sa.Connection, project: str | None, subject: str | None, limit: int) -> list[AuditEvent]:
    """Newest first; ``subject`` matches itself and its versions (``model:churn`` and ``model:churn@3``)."""
    query = sa.select(audit_events, projects.c.name.label("project")).outerjoin(
        projects, projects.c.id == audit_events.c.project_id
    )
    if project is not None:
        query = query.where(projects.c.name == project)
    if subject is not None:
        query = query.where(sa.or_(audit_events.c.subject == subject, audit_events.c.subject.startswith(subject + "@")))
    rows = conn.execute(query.order_by(audit_events.c.id.desc()).limit(limit)).all()
    return [
        AuditEvent(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            project=r.project,
            subject=r.subject,
            details=json.loads(r.details),
        )
        for r in rows
    ]
