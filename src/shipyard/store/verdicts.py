"""Gate verdicts: the evidence a protected alias needs, bound to exact model, policy and data digests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import verdicts


class VerdictStore(StoreBase):
    def add(
        self,
        verdict_id: str,
        *,
        model_version_id: int,
        model_digest: str,
        policy_digest: str,
        data_digest: str,
        dataset_version_id: int,
        shipyard_version: str,
        passed: bool,
        result: Mapping[str, Any],
        report_digest: str | None,
        actor: str,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                verdicts.insert().values(
                    id=verdict_id,
                    model_version_id=model_version_id,
                    model_digest=model_digest,
                    policy_digest=policy_digest,
                    data_digest=data_digest,
                    dataset_version_id=dataset_version_id,
                    shipyard_version=shipyard_version,
                    passed=passed,
                    result=json.dumps(result, sort_keys=True),
                    report_digest=report_digest,
                    created_at=now_ms(),
                    created_by=actor,
                )
            )

    def latest(self, model_version_id: int) -> dict[str, Any] | None:
        """The newest verdict of a version, as stored (with ``report_digest``)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(verdicts)
                .where(verdicts.c.model_version_id == model_version_id)
                .order_by(verdicts.c.created_at.desc(), verdicts.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {**json.loads(row.result), "report_digest": row.report_digest}


def gate_decision(
    conn: sa.Connection, model_version_id: int, model_digest: str, policy_digest: str
) -> tuple[bool, str]:
    """Inside a transaction: may this version take a protected alias? (allowed, reason when not)."""
    rows = conn.execute(
        sa.select(verdicts.c.passed, verdicts.c.policy_digest, verdicts.c.model_digest, verdicts.c.result)
        .where(verdicts.c.model_version_id == model_version_id)
        .order_by(verdicts.c.created_at.desc(), verdicts.c.id.desc())
    ).all()
    current = [r for r in rows if r.model_digest == model_digest and r.policy_digest == policy_digest]
    if any(r.passed for r in current):
        return True, ""
    if current:
        failed = [c for c in json.loads(current[0].result).get("checks", []) if c.get("status") in ("fail", "error")]
        listing = "; ".join(f"{c['name']}: {c.get('message', c.get('status'))}" for c in failed) or "no checks ran"
        return False, f"its latest verdict under the current policy failed ({listing})"
    if any(r.passed for r in rows):
        return False, "policy changed since verdict: it passed under another policy, so run the gate again"
    return False, "it has no verdict"
