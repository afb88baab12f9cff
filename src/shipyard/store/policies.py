"""The gate policy in force, per project, kept in the store and versioned.

``shipyard.toml`` is where a policy is written and reviewed; applying it makes it the next version here,
and the newest version is the one every gate decision reads. A project's first policy may be applied
implicitly (by the first gate run or promotion; audited as such). After that, a change that weakens the
gate (see ``core.policy_rules.changes``) needs a reason, and every application is an audit event that
carries the diff. The digest is computed here from the table, never taken from the caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core import policy_rules
from shipyard.core.config import table_digest
from shipyard.core.entities import GatePolicyVersion
from shipyard.core.errors import Conflict, InvalidInput
from shipyard.store import audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import gate_policies, projects

_POLICIES = sa.select(gate_policies, projects.c.name.label("project")).join(
    projects, projects.c.id == gate_policies.c.project_id
)


def in_force_row(conn: sa.Connection, project_id: int) -> Any:
    """The newest policy row of a project (the one in force), or None."""
    return conn.execute(
        sa.select(gate_policies)
        .where(gate_policies.c.project_id == project_id)
        .order_by(gate_policies.c.version.desc())
        .limit(1)
    ).first()


def project_id_if_any(conn: sa.Connection, project: str) -> int | None:
    return conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()


class PolicyStore(StoreBase):
    def apply(
        self,
        project: str,
        table: Mapping[str, Any],
        *,
        source: str,
        reason: str = "",
        implicit: bool = False,
        actor: str,
    ) -> tuple[GatePolicyVersion, list[policy_rules.PolicyChange]]:
        """Make ``table`` the policy in force; returns it and its changes (none when it already was in force).

        ``implicit`` applies only a project's first policy: once one is in force, a differing file is
        applied on purpose (``shipyard gate policy apply``). A weakening change needs ``reason``.
        """
        body = json.loads(policy_rules.canonical(table))
        digest = table_digest(body)
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=True)
            if conn.dialect.name == "postgresql":  # one application per project at a time
                conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id).with_for_update())
            current = in_force_row(conn, project_id)
            if current is not None and current.digest == digest:
                return self._entity(conn, current.id), []
            if implicit and current is not None:
                raise Conflict(
                    f"Project {project!r} already has a gate policy in force (version {current.version}); a "
                    "different one is applied on purpose with `shipyard gate policy apply shipyard.toml`."
                )
            old = None if current is None else json.loads(current.body)
            found = policy_rules.changes(old, body)
            weakening = [c.text for c in found if c.weakens]
            if not isinstance(reason, str):
                raise InvalidInput(f"A policy's reason is text; got {type(reason).__name__}.")
            if weakening and not reason.strip():
                raise InvalidInput(
                    f"This policy weakens the gate in force (version {current.version if current else 0}): "
                    f'{"; ".join(weakening)}. Say why with --reason "…" (reason=… in Python); it is audited.'
                )
            version = 1 if current is None else current.version + 1
            row_id = conn.execute(
                gate_policies.insert()
                .values(
                    project_id=project_id,
                    version=version,
                    digest=digest,
                    body=policy_rules.canonical(body),
                    source=source,
                    reason=reason,
                    implicit=implicit,
                    applied_at=now_ms(),
                    applied_by=actor,
                )
                .returning(gate_policies.c.id)
            ).scalar_one()
            audit.record(
                conn,
                actor,
                "gate.policy.apply",
                project_id,
                f"policy:{project}",
                {
                    "version": version,
                    "digest": digest,
                    "previous_digest": None if current is None else current.digest,
                    "source": source,
                    "reason": reason,
                    "implicit": implicit,
                    "changes": [c.text for c in found],
                    "weakens": weakening,
                },
            )
            return self._entity(conn, row_id), found

    def in_force(self, project: str) -> GatePolicyVersion | None:
        with self._read() as conn:
            project_id = project_id_if_any(conn, project)
            row = None if project_id is None else in_force_row(conn, project_id)
            return None if row is None else self._entity(conn, row.id)

    def history(self, project: str) -> list[GatePolicyVersion]:
        """Every version applied in ``project``, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                _POLICIES.where(projects.c.name == project).order_by(gate_policies.c.version.desc())
            ).all()
            return [_policy(row) for row in rows]

    def _entity(self, conn: sa.Connection, row_id: int) -> GatePolicyVersion:
        return _policy(conn.execute(_POLICIES.where(gate_policies.c.id == row_id)).one())


def _policy(row: Any) -> GatePolicyVersion:
    return GatePolicyVersion(
        project=row.project,
        version=row.version,
        digest=row.digest,
        table=json.loads(row.body),
        source=row.source,
        reason=row.reason,
        implicit=bool(row.implicit),
        applied_at=row.applied_at,
        applied_by=row.applied_by,
    )
