import pytest

import shipyard as sy
from shipyard.gates import Gate
from tests.gates.conftest import World

# Over HTTP each test's server spawns a gate process (~5 s): the tests marked over_http below cover the server's
# gate runs (pass and promote, fail and block, a new policy, the stored report); SHIPYARD_TEST_HTTP=all runs the rest.
OVER_HTTP = pytest.mark.over_http


def gate(world: World) -> Gate:
    return Gate(world.client)


@OVER_HTTP
def test_a_good_model_passes_and_may_then_become_champion(world: World) -> None:
    verdict = gate(world).evaluate("churn@1", data="churn-eval")
    assert verdict.passed
    assert [c.status.value for c in verdict.checks] == ["pass", "pass"]
    assert verdict.checks[0].measured["roc_auc"] > 0.75
    assert world.client.models.promote("churn@1").aliases == ("champion",)


def test_a_version_without_a_verdict_is_blocked(world: World) -> None:
    with pytest.raises(sy.GateBlocked, match="it has no verdict"):
        world.client.models.promote("churn@1")
    assert world.client.models.get("churn@1").aliases == ()


@OVER_HTTP
def test_a_failing_verdict_blocks_and_names_the_failed_checks(world: World) -> None:
    verdict = gate(world).evaluate("churn@2", data="churn-eval")
    assert not verdict.passed
    assert [c.name for c in verdict.failed] == ["min_metric:roc_auc"]
    with pytest.raises(sy.GateBlocked, match=r"min_metric:roc_auc: roc_auc 0\.5 < 0\.75"):
        world.client.models.promote("churn@2")


@OVER_HTTP
def test_changing_the_policy_after_a_verdict_needs_a_new_one(world: World) -> None:
    gate(world).evaluate("churn@1", data="churn-eval")
    world.apply(world.root.joinpath("shipyard.toml").read_text().replace("0.75", "0.8"))
    with pytest.raises(sy.GateBlocked, match="policy changed since verdict"):
        world.client.models.promote("churn@1")


def test_editing_shipyard_toml_changes_nothing_until_the_policy_is_applied(world: World) -> None:
    gate(world).evaluate("churn@1", data="churn-eval")  # applies the first policy implicitly
    world.policy(world.root.joinpath("shipyard.toml").read_text().replace("0.75", "0.99"))
    assert world.client.models.promote("churn@1").aliases == ("champion",)
    again = gate(world).evaluate("churn@1", data="churn-eval")
    assert again.passed and again.binding
    assert any("differs from the policy in force" in note for note in again.notes)


def test_eval_data_missing_a_column_fails_with_the_reason(world: World) -> None:
    world.client.datasets.register("thin", {"tenure": [1.0] * 200, "churned": [0, 1] * 100})
    verdict = gate(world).evaluate("churn@1", data="thin")
    assert not verdict.passed
    assert verdict.checks[0].status.value == "error"
    assert "calls" in verdict.checks[0].message


def test_a_policy_without_checks_never_passes(world: World) -> None:
    world.policy('[gate]\nlabel = "churned"\n')
    assert not gate(world).evaluate("churn@1", data="churn-eval").passed


@pytest.mark.local_only("damages the model's blob in the local artifact folder")
def test_a_corrupted_model_blob_fails_the_gate(world: World) -> None:
    from pathlib import Path

    [(_, digest, _)] = world.client.backend.registry.version_files(world.good.id)
    blob = Path(world.client.settings.artifacts) / "blobs" / digest[7:9] / digest[7:]
    blob.write_bytes(blob.read_bytes()[:-5])
    verdict = gate(world).evaluate("churn@1", data="churn-eval")
    assert not verdict.passed
    assert "could not be loaded" in verdict.checks[0].message


@pytest.mark.local_only(
    "locally the admin is SHIPYARD_ALLOW_OVERRIDE in the process; over HTTP it is the token's role, which "
    "tests/server/test_security.py and the conformance suite check"
)
def test_an_override_needs_an_admin_and_is_marked_and_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sy.PermissionDenied, match="Only an admin"):
        world.client.models.promote("churn@2", override_reason="hotfix")
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")
    promoted = world.client.models.promote("churn@2", override_reason="hotfix for incident 42")
    assert promoted.gate_override == "hotfix for incident 42"
    assert any(
        e.action == "gate.override" and e.details["reason"] == "hotfix for incident 42"
        for e in world.client.models.audit_log()
    )


def test_promoting_keeps_the_previous_champion_and_rollback_swaps_back(world: World) -> None:
    world.policy('[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "min_rows"\nmin = 100\n')
    for ref in ("churn@1", "churn@2"):
        assert gate(world).evaluate(ref, data="churn-eval").passed
        world.client.models.promote(ref)
    assert world.client.models.get("churn@previous-champion").version == 1
    assert world.client.models.rollback("churn") == (2, 1)
    assert world.client.models.get("churn@champion").version == 1
    assert world.client.models.get("churn@previous-champion").version == 2


def test_no_regression_compares_with_the_champion(world: World) -> None:
    world.policy(
        '[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "no_regression"\nmetric = "roc_auc"\nmax_drop = 0.01\n'
    )
    first = gate(world).evaluate("churn@1", data="churn-eval")
    assert first.passed and "no champion" in first.checks[0].message
    world.client.models.promote("churn@1")
    worse = gate(world).evaluate("churn@2", data="churn-eval")
    assert not worse.passed
    assert worse.checks[0].evidence["interval"]["high"] < 0


@OVER_HTTP
def test_the_report_is_stored_and_readable(world: World) -> None:
    gate(world).evaluate("churn@2", data="churn-eval")
    html = gate(world).report("churn@2")
    assert "<html" in html.lower() and "min_metric:roc_auc" in html


def test_judging_several_challengers_together_widens_each_comparison(world: World) -> None:
    world.policy(
        '[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "no_regression"\nmetric = "roc_auc"\nmax_drop = 0.5\n'
    )
    assert gate(world).evaluate("churn@1", data="churn-eval").passed
    world.client.models.promote("churn@1")
    alone = gate(world).evaluate("churn@2", data="churn-eval").checks[0]
    together = [v.checks[0] for v in gate(world).evaluate_many(["churn@2", "churn@1"], data="churn-eval")]
    assert together[0].threshold["confidence"] == pytest.approx(1 - 0.05 / 2)
    assert together[0].measured["low"] < alone.measured["low"]  # a wider interval: Bonferroni at 97.5 %


def test_a_metric_that_does_not_fit_the_task_is_a_policy_error(world: World) -> None:
    world.policy('[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "max_metric"\nmetric = "rmse"\nthreshold = 1.0\n')
    with pytest.raises(sy.InvalidInput, match=r"#1 \(kind = 'max_metric'\).*rmse.*classification task"):
        gate(world).evaluate("churn@1", data="churn-eval")


def test_the_decision_is_readable_before_any_alias_moves(world: World) -> None:
    assert not gate(world).decision("churn@1").allowed
    verdict = gate(world).evaluate("churn@1", data="churn-eval")
    decision = gate(world).decision("churn@1")
    assert decision.allowed and decision.verdict_id == verdict.id and decision.policy_version == 1
