"""The gate in the backend: policies in force, verdicts and whether they bind, the decision, and every path
into a protected alias (set, rollback) refused without a passing verdict, audited either way."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from shipyard.backends import Backend
from shipyard.core.entities import ModelVersion
from shipyard.core.errors import Conflict, GateBlocked, InvalidInput, NotFound, PermissionDenied
from shipyard.core.refs import Ref
from tests._gate_helpers import CHEAP_POLICY
from tests.backends.conformance.conftest import (
    PROJECT,
    acting,
    add_verdict,
    new_dataset,
    new_version,
    server_of,
    verdicts_of,
)

STRICTER = {**CHEAP_POLICY, "checks": [{"kind": "min_rows", "min": 5}]}
WEAKER = {**CHEAP_POLICY, "checks": []}


def test_a_policy_applied_is_in_force_and_applying_it_again_changes_nothing(backend: Backend) -> None:
    assert backend.policies.in_force(PROJECT) is None and backend.policies.history(PROJECT) == []
    first, changes = backend.policies.apply(PROJECT, CHEAP_POLICY, source="shipyard.toml", actor="tester")
    assert (first.version, first.table, [c.weakens for c in changes]) == (1, CHEAP_POLICY, [False])
    again, none = backend.policies.apply(PROJECT, CHEAP_POLICY, source="shipyard.toml", actor="tester")
    assert (again.version, none) == (1, [])
    second, _ = backend.policies.apply(PROJECT, STRICTER, source="shipyard.toml", actor="tester")
    assert backend.policies.in_force(PROJECT) == second
    assert [p.version for p in backend.policies.history(PROJECT)] == [2, 1]


def test_weakening_the_policy_needs_a_reason(backend: Backend) -> None:
    backend.policies.apply(PROJECT, CHEAP_POLICY, source="t", actor="tester")
    with pytest.raises(InvalidInput, match="weakens"):
        backend.policies.apply(PROJECT, WEAKER, source="t", actor="tester")
    with pytest.raises(InvalidInput, match="reason"):
        backend.policies.apply(PROJECT, WEAKER, source="t", reason=3, actor="tester")  # type: ignore[arg-type]
    applied, _ = backend.policies.apply(PROJECT, WEAKER, source="t", reason="flaky check", actor="tester")
    assert (applied.version, applied.reason) == (2, "flaky check")


def test_an_implicit_policy_is_only_a_projects_first(backend: Backend) -> None:
    assert backend.policies.apply(PROJECT, CHEAP_POLICY, source="t", implicit=True, actor="t")[0].implicit
    with pytest.raises(Conflict, match="already has a gate policy"):
        backend.policies.apply(PROJECT, STRICTER, source="t", implicit=True, actor="t")


def test_a_verdict_binds_only_under_the_policy_in_force_on_the_data_it_requires(backend: Backend) -> None:
    version = new_version(backend)
    policy, _ = backend.policies.apply(PROJECT, CHEAP_POLICY, source="t", actor="tester")
    eval_data, other = new_dataset(backend, "gate-eval"), new_dataset(backend, "other")
    assert backend.verdicts.binding_of(PROJECT, policy.digest, eval_data.id) == (True, "")
    assert backend.verdicts.binding_of(PROJECT, policy.digest, other.id)[0] is False
    assert "other than the one in force" in backend.verdicts.binding_of(PROJECT, "sha256:0", eval_data.id)[1]
    assert backend.verdicts.binding_of("ghost", policy.digest, eval_data.id)[0] is False
    result = {"checks": [{"name": "min_rows", "severity": "error", "status": "pass"}]}
    assert verdicts_of(backend).add(
        "v1", model_version_id=version.id, policy_digest=policy.digest, dataset_version_id=other.id,
        shipyard_version="t", passed=True, result=result, report_digest=None, actor="tester",
    )[0] is False  # fmt: skip
    assert backend.verdicts.latest(version.id) == {**result, "report_digest": None, "binding": False}


def test_a_verdict_must_agree_with_its_checks_and_name_existing_rows(backend: Backend) -> None:
    version = new_version(backend)
    policy, _ = backend.policies.apply(PROJECT, CHEAP_POLICY, source="t", actor="tester")
    data = new_dataset(backend, "gate-eval")
    failing = {"checks": [{"name": "min_rows", "severity": "error", "status": "fail"}]}
    common = {"policy_digest": policy.digest, "shipyard_version": "t", "report_digest": None, "actor": "tester"}
    with pytest.raises(InvalidInput, match="contradicts"):
        verdicts_of(backend).add(
            "v1", model_version_id=version.id, dataset_version_id=data.id, passed=True, result=failing, **common
        )  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        verdicts_of(backend).add(
            "v2", model_version_id=-1, dataset_version_id=data.id, passed=False, result=failing, **common
        )  # type: ignore[arg-type]
    assert backend.verdicts.latest(version.id) is None


def test_the_decision_follows_the_newest_binding_verdict(backend: Backend) -> None:
    version = new_version(backend)
    assert "no gate policy" in backend.verdicts.decision(PROJECT, version.id).reason
    add_verdict(backend, version, passed=False)
    assert backend.verdicts.decision(PROJECT, version.id).allowed is False
    passing = add_verdict(backend, version)
    decision = backend.verdicts.decision(PROJECT, version.id)
    assert (decision.allowed, decision.verdict_id, decision.policy_version) == (True, passing, 1)
    assert backend.verdicts.decision("ghost", version.id).allowed is False
    assert backend.verdicts.decision(PROJECT, -1).reason == "the version does not exist"


def test_champion_is_protected_until_a_policy_says_otherwise(backend: Backend) -> None:
    assert backend.registry.protected_aliases("ghost") == frozenset({"champion"})
    backend.policies.apply(PROJECT, {**CHEAP_POLICY, "protected_aliases": ["champion", "prod"]}, source="t", actor="t")
    assert backend.registry.protected_aliases(PROJECT) == frozenset({"champion", "prod"})


def refusals(backend: Backend) -> list[str]:
    return [e.details["by"] for e in backend.registry.audit_events(PROJECT) if e.action == "gate.refused"]


def test_a_protected_alias_needs_a_passing_verdict_and_a_refusal_is_audited(backend: Backend) -> None:
    version = new_version(backend)
    with pytest.raises(GateBlocked, match="champion"):
        backend.registry.set_alias(PROJECT, "churn", version.version, "champion", actor="tester")
    add_verdict(backend, version, passed=False)
    with pytest.raises(GateBlocked, match="failed"):
        backend.registry.set_alias(PROJECT, "churn", version.version, "champion", actor="tester")
    assert refusals(backend) == ["gate", "gate"]
    add_verdict(backend, version)
    assert backend.registry.set_alias(PROJECT, "churn", 1, "champion", actor="tester").aliases == ("champion",)


def test_only_an_admin_overrides_the_gate_and_only_with_a_reason(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = new_version(backend)
    monkeypatch.delenv("SHIPYARD_ALLOW_OVERRIDE", raising=False)
    with pytest.raises(PermissionDenied, match="admin"):
        backend.registry.set_alias(PROJECT, "churn", 1, "champion", actor="t", override_reason="hotfix")
    assert refusals(backend) == ["override"]
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")  # a local backend's admin; a server's comes from the role
    with pytest.raises(InvalidInput, match="reason"):
        backend.registry.set_alias(PROJECT, "churn", 1, "champion", actor="t", override_reason=" ")
    moved = backend.registry.set_alias(PROJECT, "churn", 1, "champion", actor="t", override_reason="hotfix")
    assert (moved.aliases, moved.gate_override) == (("champion",), "hotfix")
    assert version.gate_override is None


def promote(backend: Backend, version: ModelVersion) -> None:
    add_verdict(backend, version)
    backend.registry.set_alias(PROJECT, version.name, version.version, "champion", actor="tester")


def test_rollback_swaps_champion_and_previous_champion_under_the_gate(backend: Backend) -> None:
    first, second = new_version(backend), new_version(backend)
    promote(backend, first)
    with pytest.raises(NotFound, match="previous-champion"):
        backend.registry.rollback(PROJECT, "churn", actor="tester")
    promote(backend, second)
    assert backend.registry.get_version(PROJECT, Ref("churn", alias="previous-champion")).version == 1
    assert backend.registry.rollback(PROJECT, "churn", actor="tester") == (2, 1)
    assert backend.registry.get_version(PROJECT, Ref("churn", alias="champion")).version == 1
    assert backend.registry.get_version(PROJECT, Ref("churn", alias="previous-champion")).version == 2


def test_rollback_to_a_version_the_gate_no_longer_allows_is_refused(backend: Backend) -> None:
    first, second = new_version(backend), new_version(backend)
    promote(backend, first)
    promote(backend, second)
    add_verdict(backend, first, passed=False)  # its newest verdict fails now
    with pytest.raises(GateBlocked):
        backend.registry.rollback(PROJECT, "churn", actor="tester")
    assert backend.registry.get_version(PROJECT, Ref("churn", alias="champion")).version == 2
    assert refusals(backend) == ["gate"]


def test_the_audit_log_records_changes_newest_first_and_verifies(backend: Backend) -> None:
    assert backend.registry.verify_audit().ok
    version = new_version(backend)
    backend.registry.set_alias(PROJECT, "churn", version.version, "challenger", actor="alice")
    seq, head = backend.registry.audit_head()
    events = backend.registry.audit_events(PROJECT, subject="model:churn")
    assert (events[0].action, events[0].actor, events[0].details["alias"]) == (
        "alias.set",
        acting(backend, "alice"),
        "challenger",
    )
    assert events[0].hash == head and events[0].seq == seq
    backend.registry.delete_alias(PROJECT, "churn", "challenger", actor="bob")
    assert [e.action for e in backend.registry.audit_events(PROJECT, limit=1)] == ["alias.delete"]
    checked = backend.registry.verify_audit(expect_head=head)
    assert (checked.ok, checked.events, checked.head_seq) == (True, seq + 1, seq + 1)


def test_a_head_the_log_never_had_fails_verification(backend: Backend) -> None:
    new_version(backend)
    backend.registry.set_alias(PROJECT, "churn", 1, "challenger", actor="alice")
    checked = backend.registry.verify_audit(expect_head="sha256:" + "0" * 64)
    assert not checked.ok and [p.kind for p in checked.problems] == ["head"]


def body_fields(schema: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The fields of an OpenAPI operation's JSON body (none without one)."""
    ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    name = ref.get("$ref", "").rsplit("/", 1)[-1]
    return set(schema["components"]["schemas"][name].get("properties", {})) if name else set()


def test_a_verdict_is_written_only_beside_the_store_never_by_a_client(backend: Backend) -> None:
    version = new_version(backend)
    policy, _ = backend.policies.apply(PROJECT, CHEAP_POLICY, source="t", actor="tester")
    data = new_dataset(backend, "gate-eval")
    given = {
        "model_version_id": version.id, "policy_digest": policy.digest, "dataset_version_id": data.id,
        "shipyard_version": "t", "passed": True, "report_digest": None,
        "result": {"checks": [{"name": "min_rows", "severity": "error", "status": "pass"}]},
    }  # fmt: skip
    server = server_of(backend)
    if server is None:  # the local backend is the store: the gate's own runs write here
        assert backend.verdicts.add("v1", **given, actor="tester")[0] is True
        assert backend.verdicts.decision(PROJECT, version.id).allowed
        return
    with pytest.raises(PermissionDenied, match="never by a client"):
        backend.verdicts.add("v1", **given, actor="tester")
    http = httpx2.Client(base_url=server.url, headers={"authorization": f"Bearer {server.admin_token}"})
    with http:
        refused = http.post("/api/v1/verdicts/add", json={"verdict_id": "v1", **given})
        schema = http.get("/api/v1/openapi.json").json()
    assert refused.status_code == 404
    bodies = [body_fields(schema, operation) for verbs in schema["paths"].values() for operation in verbs.values()]
    assert any(bodies) and not [b for b in bodies if {"passed", "policy_digest"} <= b]  # no route takes a verdict
    assert backend.verdicts.latest(version.id) is None and not backend.verdicts.decision(PROJECT, version.id).allowed
