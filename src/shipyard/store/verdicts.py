"""Gate verdicts, and the gate decision: may this version take a protected alias or live traffic?

A verdict binds a model version's package digest, a policy digest and an evaluation dataset version. The
store decides itself, when a verdict is written, whether it is **binding**: made under the policy in
force, on the evaluation data that policy requires (``[gate] data``: the newest version of that dataset,
or the pinned one). Every other verdict is a preview. The digests are read from the store's own rows,
and a verdict's ``passed`` must agree with its checks. Each verdict is an audit event.

The decision (``decide``) reads only the store's state, inside the caller's transaction: the policy in
force must have a blocking check, and the newest binding verdict decides; with no ``data`` named in the
policy, the newest binding verdict on *each* dataset must pass, so a failure on one dataset is not
washed out by a pass on another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core import policy_rules
from shipyard.core.entities_gate import Decision
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.store import audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.policies import in_force_row
from shipyard.store.schema import (
    dataset_versions,
    datasets,
    model_versions,
    projects,
    registered_models,
    verdicts,
)

UNREAD: Any = object()
"""``decide(policy=UNREAD)``: the policy in force is read by ``decide`` itself."""


class VerdictStore(StoreBase):
    def add(
        self,
        verdict_id: str,
        *,
        model_version_id: int,
        policy_digest: str,
        dataset_version_id: int,
        shipyard_version: str,
        passed: bool,
        result: Mapping[str, Any],
        report_digest: str | None,
        actor: str,
    ) -> tuple[bool, str]:
        """Store a verdict; returns (binding, why it is a preview when it is one)."""
        _check_passed(passed, result)
        with self._write() as conn:
            model = conn.execute(
                sa.select(
                    model_versions.c.artifact_digest,
                    model_versions.c.version,
                    registered_models.c.name,
                    registered_models.c.project_id,
                )
                .join(registered_models, registered_models.c.id == model_versions.c.model_id)
                .where(model_versions.c.id == model_version_id)
            ).first()
            data = conn.execute(
                sa.select(dataset_versions.c.digest, dataset_versions.c.version, datasets.c.name, datasets.c.id)
                .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                .where(dataset_versions.c.id == dataset_version_id)
            ).first()
            if model is None or data is None:
                raise NotFound("The model version or dataset version of this verdict does not exist.")
            binding, why = _binding(conn, model.project_id, policy_digest, data)
            conn.execute(
                verdicts.insert().values(
                    id=verdict_id,
                    model_version_id=model_version_id,
                    model_digest=model.artifact_digest,
                    policy_digest=policy_digest,
                    data_digest=data.digest,
                    dataset_version_id=dataset_version_id,
                    shipyard_version=shipyard_version,
                    passed=passed,
                    binding=binding,
                    result=json.dumps(result, sort_keys=True),
                    report_digest=report_digest,
                    created_at=now_ms(),
                    created_by=actor,
                )
            )
            details = {
                "verdict_id": verdict_id,
                "passed": passed,
                "binding": binding,
                "preview_because": why or None,
                "policy_digest": policy_digest,
                "data": f"{data.name}@{data.version}",
            }
            audit.record(conn, actor, "gate.verdict", model.project_id, f"model:{model.name}@{model.version}", details)
            return binding, why

    def binding_of(self, project: str, policy_digest: str, dataset_version_id: int) -> tuple[bool, str]:
        """Read-only: would a verdict under this policy, on this dataset version, be binding now?"""
        with self._read() as conn:
            project_id = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()
            data = conn.execute(
                sa.select(dataset_versions.c.version, datasets.c.name, datasets.c.id)
                .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                .where(dataset_versions.c.id == dataset_version_id)
            ).first()
            if project_id is None or data is None:
                return False, "no gate policy is in force in the project"
            return _binding(conn, project_id, policy_digest, data)

    def latest(self, model_version_id: int) -> dict[str, Any] | None:
        """The newest verdict of a version, as stored (with ``report_digest`` and ``binding``)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(verdicts)
                .where(verdicts.c.model_version_id == model_version_id)
                .order_by(verdicts.c.created_at.desc(), verdicts.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {**json.loads(row.result), "report_digest": row.report_digest, "binding": bool(row.binding)}

    def decision(self, project: str, model_version_id: int) -> Decision:
        """Read-only: would the gate let this version take a protected alias now? (Serving asks this.)"""
        with self._read() as conn:
            project_id = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()
            if project_id is None:
                return Decision(False, f"there is no project {project!r}")
            digest = conn.execute(
                sa.select(model_versions.c.artifact_digest).where(model_versions.c.id == model_version_id)
            ).scalar()
            if digest is None:
                return Decision(False, "the version does not exist")
            return decide(conn, project_id, model_version_id, digest)


def _check_passed(passed: bool, result: Mapping[str, Any]) -> None:
    checks = result.get("checks", [])
    blocking = [c for c in checks if isinstance(c, Mapping) and c.get("severity", "error") == "error"]
    earned = bool(blocking) and all(c.get("status") == "pass" for c in blocking)
    if bool(passed) != earned:
        raise InvalidInput(
            f"A verdict marked passed={passed} contradicts its checks (it "
            f"{'passes' if earned else 'does not pass'} them); verdicts are written by the gate's runner."
        )


def _binding(conn: sa.Connection, project_id: int, policy_digest: str, data: Any) -> tuple[bool, str]:
    policy = in_force_row(conn, project_id)
    if policy is None:
        return False, "no gate policy is in force in the project"
    if policy.digest != policy_digest:
        return False, f"it was made under a policy other than the one in force (version {policy.version})"
    required = policy_rules.required_data(json.loads(policy.body))
    if required is None:
        return True, ""
    if data.name != required.name:
        return False, f"the policy in force requires the evaluation data {required}, not {data.name}"
    if required.version is not None:
        if data.version != required.version:
            return False, f"the policy in force requires {required}, not {data.name}@{data.version}"
        return True, ""
    newest = conn.execute(
        sa.select(sa.func.max(dataset_versions.c.version)).where(dataset_versions.c.dataset_id == data.id)
    ).scalar()
    if data.version != newest:
        return False, f"the policy in force requires the newest {required.name} (version {newest}), not {data.version}"
    return True, ""


def decide(
    conn: sa.Connection, project_id: int, model_version_id: int, model_digest: str, *, policy: Any = UNREAD
) -> Decision:
    """Inside a transaction, from the store's own state: may this version take a protected alias?

    ``policy`` is the policy row in force when the caller has read it already in this transaction.
    """
    if policy is UNREAD:
        policy = in_force_row(conn, project_id)
    if policy is None:
        return Decision(
            False, "no gate policy is in force in this project (apply one with `shipyard gate policy apply`)"
        )
    table = json.loads(policy.body)
    in_force = f"the policy in force (version {policy.version})"
    if not policy_rules.blocking_checks(table):
        return Decision(
            False,
            f'{in_force} has no blocking check (none, or every one severity = "warn"), so no verdict can pass',
            policy_version=policy.version,
        )
    rows = conn.execute(
        sa.select(
            verdicts.c.id,
            verdicts.c.passed,
            verdicts.c.binding,
            verdicts.c.policy_digest,
            verdicts.c.model_digest,
            verdicts.c.result,
            datasets.c.name.label("data_name"),
            dataset_versions.c.version.label("data_version"),
        )
        .join(dataset_versions, dataset_versions.c.id == verdicts.c.dataset_version_id)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .where(verdicts.c.model_version_id == model_version_id)
        .order_by(verdicts.c.created_at.desc(), verdicts.c.id.desc())
    ).all()
    mine = [r for r in rows if r.model_digest == model_digest]
    binding = [r for r in mine if r.binding and r.policy_digest == policy.digest]
    if binding:
        newest_per_data: dict[str, Any] = {}
        for row in binding:
            newest_per_data.setdefault(row.data_name, row)
        deciding = [binding[0]] if policy_rules.required_data(table) else list(newest_per_data.values())
        failed = next((r for r in deciding if not r.passed), None)
        if failed is not None:
            return Decision(
                False,
                f"its newest verdict on {failed.data_name}@{failed.data_version} under {in_force} failed "
                f"({_failed_checks(failed.result)})",
                verdict_id=failed.id,
                policy_version=policy.version,
            )
        return Decision(True, f"verdict {deciding[0].id}", verdict_id=deciding[0].id, policy_version=policy.version)
    if any(r.passed and r.policy_digest != policy.digest for r in mine):
        why = f"policy changed since verdict: it passed under another policy, not {in_force}, so run the gate again"
    elif any(r.policy_digest == policy.digest for r in mine):
        required = policy_rules.required_data(table)
        why = (
            f"its verdicts under {in_force} are previews, not made on the evaluation data it requires ({required})"
            if required
            else f"its verdicts under {in_force} are previews"
        )
    elif mine:
        why = f"it has no verdict under {in_force}"
    else:
        why = "it has no verdict"
    return Decision(False, why, policy_version=policy.version)


def _failed_checks(result: str) -> str:
    failed = [c for c in json.loads(result).get("checks", []) if c.get("status") in ("fail", "error")]
    return "; ".join(f"{c['name']}: {c.get('message', c.get('status'))}" for c in failed) or "no blocking check passed"
