"""Aliases, and the one guard on every path into a protected alias or live traffic (``authorize``).

Every alias move is one transaction that also writes its audit event, so the log and the state can never
disagree: two processes moving one alias at once are serialised (an IMMEDIATE transaction on SQLite, a row
lock on PostgreSQL), the last one wins, and both events are written with the old and new version each saw.
A refused attempt is audited too, in a transaction of its own.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from shipyard.core import policy_rules
from shipyard.core.actor import override_granted
from shipyard.core.config import override_allowed
from shipyard.core.entities import ModelVersion
from shipyard.core.entities_gate import Decision
from shipyard.core.errors import Conflict, GateBlocked, InvalidInput, NotFound, PermissionDenied
from shipyard.core.refs import Ref
from shipyard.store import audit
from shipyard.store._base import now_ms
from shipyard.store.model_versions import CHAMPION, PREVIOUS_CHAMPION, ModelVersionStore
from shipyard.store.policies import in_force_row, project_id_if_any
from shipyard.store.schema import model_aliases, model_versions
from shipyard.store.verdicts import UNREAD, decide


class AliasStore(ModelVersionStore):
    """Aliases of model versions; the protected ones only through ``authorize``."""

    # aliases ----------------------------------------------------------------------------------------

    def set_alias(
        self, project: str, name: str, version: int, alias: str, *, actor: str, override_reason: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` atomically, and audit the move.

        Whether the alias is protected, and whether the version may take it, is decided here from the
        store's own state in the same transaction as the move: the policy in force and the binding
        verdicts (``verdicts.decide``). An admin may override with a reason (the privilege comes from the
        process's environment, ``SHIPYARD_ALLOW_OVERRIDE=1``, never from an argument): audited, and marked
        on the version for good. ``previous-champion`` is kept by promotion only: moving ``champion`` points
        it at the version champion leaves.
        """
        if alias == PREVIOUS_CHAMPION:
            raise InvalidInput(
                f"{PREVIOUS_CHAMPION!r} is kept by promotion (it names the version champion left) and cannot be "
                f"set by hand; `shipyard rollback {name}` moves champion back to it."
            )
        try:
            with self._write() as conn:
                return self._move(conn, project, name, version, alias, actor, override_reason)
        except (GateBlocked, PermissionDenied) as refused:
            self.record_refusal(project, f"model:{name}@{version}", actor, refused, alias=alias)
            raise

    def _move(
        self,
        conn: sa.Connection,
        project: str,
        name: str,
        version: int,
        alias: str,
        actor: str,
        override_reason: str | None,
    ) -> ModelVersion:
        project_id = self._project_id(conn, project, create=False)
        model_id = self._lock_model(conn, project_id, name)
        target = self._resolve(conn, project, Ref(name, version=version))
        if target.status != "active":
            raise Conflict(f"{target.ref} is {target.status}; restore it before giving it an alias.")
        policy = in_force_row(conn, project_id)
        authority = "unprotected"
        if alias in _protected_by(policy):
            authority = authorize(
                conn, project_id, target, actor, override_reason, what=f"become {alias!r}", policy=policy, alias=alias
            )
        old = self._alias_target(conn, model_id, alias)
        self._point(conn, project_id, model_id, name, alias, target.id, old, version, actor, authority)
        if alias == CHAMPION and old is not None and old != version:
            previous_id = self._resolve(conn, project, Ref(name, version=old)).id
            before = self._alias_target(conn, model_id, PREVIOUS_CHAMPION)
            self._point(
                conn,
                project_id,
                model_id,
                name,
                PREVIOUS_CHAMPION,
                previous_id,
                before,
                old,
                actor,
                "promotion",
            )
        return self._version(conn, model_versions.c.id == target.id)

    def record_refusal(self, project: str, subject: str, actor: str, refused: Exception, **details: Any) -> None:
        """Audit an attempt the gate refused (its own transaction: the refused one was rolled back)."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            what = "override" if isinstance(refused, PermissionDenied) else "gate"
            audit.record(conn, actor, "gate.refused", project_id, subject, {**details, "by": what, "why": str(refused)})

    def _protected(self, conn: sa.Connection, project_id: int) -> frozenset[str]:
        """The protected aliases of the policy in force; ``champion`` while no policy is in force."""
        return _protected_by(in_force_row(conn, project_id))

    def protected_aliases(self, project: str) -> frozenset[str]:
        with self._read() as conn:
            project_id = project_id_if_any(conn, project)
            return self._protected(conn, project_id) if project_id is not None else frozenset({CHAMPION})

    def _point(
        self,
        conn: sa.Connection,
        project_id: int,
        model_id: int,
        name: str,
        alias: str,
        version_id: int,
        old: int | None,
        new: int,
        actor: str,
        authority: str,
    ) -> None:
        upsert = self._insert(model_aliases).values(
            model_id=model_id,
            alias=alias,
            model_version_id=version_id,
            updated_at=now_ms(),
            updated_by=actor,
            authorized_by=authority,
        )
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["model_id", "alias"],
                set_={
                    "model_version_id": version_id,
                    "updated_at": upsert.excluded.updated_at,
                    "updated_by": actor,
                    "authorized_by": authority,
                },
            )
        )
        self._audit(
            conn,
            actor,
            "alias.set",
            project_id,
            f"model:{name}",
            {"alias": alias, "old_version": old, "new_version": new, "authorized_by": authority},
        )

    def rollback(self, project: str, name: str, *, actor: str, override_reason: str | None = None) -> tuple[int, int]:
        """Swap ``champion`` and ``previous-champion``; returns (version left, version restored).

        The restored version must still be allowed by the gate under the policy in force (a passing binding
        verdict), or an admin overrides with a reason: holding champion once is not a pass today.
        """
        try:
            with self._write() as conn:
                return self._swap_back(conn, project, name, actor, override_reason)
        except (GateBlocked, PermissionDenied) as refused:
            self.record_refusal(project, f"model:{name}", actor, refused, alias=CHAMPION, rollback=True)
            raise

    def _swap_back(
        self, conn: sa.Connection, project: str, name: str, actor: str, override_reason: str | None
    ) -> tuple[int, int]:
        project_id = self._project_id(conn, project, create=False)
        model_id = self._lock_model(conn, project_id, name)
        current = self._alias_target(conn, model_id, CHAMPION)
        previous = self._alias_target(conn, model_id, PREVIOUS_CHAMPION)
        if current is None or previous is None:
            raise NotFound(
                f"Model {name!r} has no {PREVIOUS_CHAMPION!r} to roll back to (champion: "
                f"{current or 'none'}); one is kept each time a new champion is promoted."
            )
        current_id = self._resolve(conn, project, Ref(name, version=current)).id
        restored = self._resolve(conn, project, Ref(name, version=previous))
        policy = in_force_row(conn, project_id)
        authority = "unprotected"
        if CHAMPION in _protected_by(policy):
            authority = authorize(
                conn,
                project_id,
                restored,
                actor,
                override_reason,
                what="become 'champion'",
                policy=policy,
                alias=CHAMPION,
            )
        self._point(conn, project_id, model_id, name, CHAMPION, restored.id, current, previous, actor, authority)
        self._point(
            conn,
            project_id,
            model_id,
            name,
            PREVIOUS_CHAMPION,
            current_id,
            previous,
            current,
            actor,
            "rollback",
        )
        self._audit(conn, actor, "gate.rollback", project_id, f"model:{name}", {"from": current, "to": previous})
        return current, previous

    def delete_alias(self, project: str, name: str, alias: str, *, actor: str) -> int:
        """Remove an alias; returns the version it pointed at."""
        with self._write() as conn:
            project_id = self._project_id(conn, project, create=False)
            model_id = self._lock_model(conn, project_id, name)
            old = self._alias_target(conn, model_id, alias)
            if old is None:
                raise NotFound(f"Model {name!r} has no alias {alias!r}.")
            conn.execute(
                model_aliases.delete().where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
            )
            self._audit(
                conn,
                actor,
                "alias.delete",
                project_id,
                f"model:{name}",
                {"alias": alias, "old_version": old, "new_version": None},
            )
            return old

    def _alias_target(self, conn: sa.Connection, model_id: int, alias: str) -> int | None:
        found = conn.execute(
            sa.select(model_versions.c.version)
            .join(model_aliases, model_aliases.c.model_version_id == model_versions.c.id)
            .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
        ).scalar()
        return int(found) if found is not None else None


def _protected_by(policy: Any) -> frozenset[str]:
    """The protected aliases of a policy row; ``champion`` when there is none."""
    return policy_rules.protected_aliases({} if policy is None else json.loads(policy.body))


def authorize(
    conn: sa.Connection,
    project_id: int,
    target: ModelVersion,
    actor: str,
    override_reason: str | None,
    *,
    what: str,
    policy: Any = UNREAD,
    **details: Any,
) -> str:
    """Inside the caller's transaction: what allows ``target`` to ``what`` (``"become 'champion'"``, ``"take live
    traffic as a canary"``): ``verdict:<id>``, or ``override:<seq>`` for an admin with a reason; else ``GateBlocked``.

    Every path into a protected alias or live traffic comes here, so they are decided alike.
    """
    decision = decide(conn, project_id, target.id, target.artifact_digest, policy=policy)
    if decision.allowed:
        return f"verdict:{decision.verdict_id}"
    if override_reason is not None:
        return f"override:{_override(conn, project_id, target, actor, override_reason, decision, **details)}"
    raise GateBlocked(
        f"{target.ref} may not {what}: {decision.reason}. That needs a passing verdict for this exact version under "
        f"the gate policy in force, on the evaluation data it requires (a protected alias, as live traffic, does). "
        f"Run `shipyard gate run {target.ref}`; see the last report with `shipyard gate report {target.ref}`."
    )


def _override(
    conn: sa.Connection,
    project_id: int,
    target: ModelVersion,
    actor: str,
    reason: str,
    decision: Decision,
    **details: Any,
) -> int:
    """Set the gate aside for ``target`` with a reason: only for an admin, audited, marked on the version."""
    if not (override_allowed() or override_granted()):
        raise PermissionDenied(
            "Only an admin may override the gate. In embedded mode the privilege comes only from the environment "
            "of the admin's process (SHIPYARD_ALLOW_OVERRIDE=1), never from shipyard.toml or an argument; on a "
            f"team server, from the admin role. {target.ref} was not moved."
        )
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("An override needs a reason that says why the gate is set aside.")
    conn.execute(model_versions.update().where(model_versions.c.id == target.id).values(gate_override=reason))
    return audit.record(
        conn,
        actor,
        "gate.override",
        project_id,
        f"model:{target.ref}",
        {**details, "reason": reason, "refused_because": decision.reason, "policy_version": decision.policy_version},
    )
