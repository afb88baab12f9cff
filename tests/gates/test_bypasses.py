"""The gate as a security boundary: every way a failing model reached ``champion`` or live traffic through the
public CLI and Python API (hostile tries of 2026-12-06, block 5), each shown to be closed.

Setup (``tests/gates/conftest.py``): churn@1 is a logistic regression (roc_auc ≈ 0.84 on churn-eval), churn@2
a prior-only dummy (roc_auc 0.5); the project's policy asks roc_auc ≥ 0.75 and min_rows ≥ 100.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

import shipyard as sy
from shipyard.cli.main import app
from shipyard.gates import Gate
from tests._gate_helpers import verdicts_of
from tests.conftest import another_client, client_env
from tests.gates.conftest import POLICY, World, frame

EMBEDDED_OVERRIDE = pytest.mark.local_only(
    "the override privilege comes from the process's environment; on a server from the admin role "
    "(tests/server/test_gate_server.py)"
)
ALL_WARN = POLICY.replace('kind = "min_metric"', 'kind = "min_metric"\nseverity = "warn"').replace(
    'kind = "min_rows"', 'kind = "min_rows"\nseverity = "warn"'
)


def elsewhere(world: World, tmp_path_factory: pytest.TempPathFactory, policy: str) -> sy.Client:
    """A client on the project's store, run from another folder whose shipyard.toml holds ``policy``."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "shipyard.toml").write_text(policy)
    return another_client(world.client, cwd=folder)


def cli(world: World, cwd: Path, *args: str) -> Result:
    env = {"COLUMNS": "200", "NO_COLOR": "1", **client_env(world.client)}
    import os

    here = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner(env=env).invoke(app, list(args))
    finally:
        os.chdir(here)


def gated_champion(world: World) -> None:
    """churn@1 passes the project's policy (applying it) and becomes champion; churn@2 fails it."""
    assert Gate(world.client).evaluate("churn@1", data="churn-eval").passed
    world.client.models.promote("churn@1")
    assert not Gate(world.client).evaluate("churn@2", data="churn-eval").passed


# 1. the promoter's own policy ---------------------------------------------------------------------------


@pytest.mark.parametrize("lax", [ALL_WARN, POLICY.replace("[gate]", "[gate]\nprotected_aliases = []")])
def test_a_lax_shipyard_toml_elsewhere_changes_nothing_that_is_enforced(
    world: World, tmp_path_factory: pytest.TempPathFactory, lax: str
) -> None:
    gated_champion(world)
    other = elsewhere(world, tmp_path_factory, lax)
    verdict = Gate(other).evaluate("churn@2", data="churn-eval")  # runs under the policy in force
    assert not verdict.passed
    assert any("differs from the policy in force" in note for note in verdict.notes)
    with pytest.raises(sy.GateBlocked):
        other.models.promote("churn@2")
    with pytest.raises(sy.GateBlocked):
        other.models.set_alias("churn", 2, "champion")
    assert world.client.models.get("churn@champion").version == 1
    other.close()


def test_a_lax_policy_file_given_explicitly_is_only_a_preview(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gated_champion(world)
    lax = tmp_path_factory.mktemp("lax") / "lax.toml"
    lax.write_text(POLICY.replace("0.75", "0.1"))
    preview = Gate(world.client).evaluate("churn@2", data="churn-eval", policy=lax)
    assert preview.passed and not preview.binding
    with pytest.raises(
        sy.GateBlocked, match=r"newest verdict on churn-eval@1 under the policy in force \(version 1\) failed"
    ):
        world.client.models.promote("churn@2")


def test_the_cli_from_another_folder_cannot_promote_a_failing_version(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gated_champion(world)
    folder = tmp_path_factory.mktemp("cli-elsewhere")
    (folder / "shipyard.toml").write_text(POLICY.replace("[gate]", "[gate]\nprotected_aliases = []"))
    assert cli(world, folder, "models", "alias", "churn", "2", "champion").exit_code == 1
    assert cli(world, folder, "promote", "churn@2").exit_code == 1
    assert world.client.models.get("churn@champion").version == 1


def test_the_stores_set_alias_takes_no_list_of_protected_aliases_and_decides_itself(world: World) -> None:
    gated_champion(world)
    registry = world.client.backend.registry
    with pytest.raises(TypeError):
        registry.set_alias("default", "churn", 2, "champion", actor="x", protected=())  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        registry.set_alias("default", "churn", 2, "champion", actor="x", allow_override=True)  # type: ignore[call-arg]
    with pytest.raises(sy.GateBlocked, match="churn@2 may not become 'champion'"):
        registry.set_alias("default", "churn", 2, "champion", actor="x")


# 2. rollback laundering -----------------------------------------------------------------------------------


def test_previous_champion_cannot_be_set_by_hand(world: World) -> None:
    gated_champion(world)
    with pytest.raises(sy.InvalidInput, match="kept by promotion"):
        world.client.models.set_alias("churn", 2, "previous-champion")
    with pytest.raises(sy.NotFound, match="no 'previous-champion'"):
        world.client.models.rollback("churn")
    assert world.client.models.get("churn@champion").version == 1


def test_rollback_needs_the_restored_version_to_pass_under_the_policy_in_force(world: World) -> None:
    world.policy(POLICY.replace("0.75", "0.4"))  # both pass this first policy
    for ref in ("churn@1", "churn@2"):
        assert Gate(world.client).evaluate(ref, data="churn-eval").passed
    world.client.models.promote("churn@2")
    world.client.models.promote("churn@1")  # previous-champion: churn@2
    world.apply(POLICY)  # stricter: churn@2 (roc_auc 0.5) would fail now
    with pytest.raises(sy.GateBlocked, match="churn@2 may not become 'champion'"):
        world.client.models.rollback("churn")
    assert world.client.models.get("churn@champion").version == 1


def test_the_cli_rollback_of_a_failing_previous_champion_exits_1(world: World) -> None:
    world.policy(POLICY.replace("0.75", "0.4"))
    for ref in ("churn@2", "churn@1"):
        Gate(world.client).evaluate(ref, data="churn-eval")
        world.client.models.promote(ref)
    world.apply(POLICY)
    Gate(world.client).evaluate("churn@2", data="churn-eval")  # fails under the policy in force
    assert cli(world, world.root, "rollback", "churn").exit_code == 1
    assert world.client.models.get("churn@champion").version == 1


# 3. evaluation-data shopping ------------------------------------------------------------------------------


def flipped(world: World) -> sy.ModelVersion:
    """``my-eval`` (churn-eval with every label flipped, registered by the submitter) and churn@3, a model trained
    on flipped labels: it fails on churn-eval and passes on my-eval."""
    from sklearn.linear_model import LogisticRegression

    df = frame(600, 2)
    df["churned"] = 1 - df["churned"]
    world.client.datasets.register("my-eval", df)
    train = frame(1500, 1)
    inverted = LogisticRegression().fit(train[["tenure", "calls"]], 1 - train["churned"])
    with world.client.start_run(name="inverted") as run:
        return run.log_model(inverted, "churn", train_data=train[["tenure", "calls"]])


def test_a_pass_on_self_chosen_data_does_not_wash_out_a_failure_on_the_projects_data(world: World) -> None:
    inverted = flipped(world)
    assert not Gate(world.client).evaluate(inverted.ref, data="churn-eval").passed
    assert Gate(world.client).evaluate(inverted.ref, data="my-eval").passed
    with pytest.raises(sy.GateBlocked, match=r"newest verdict on churn-eval@1 .* failed"):
        world.client.models.promote(inverted.ref)


def test_when_the_policy_names_its_data_a_verdict_on_other_data_is_a_preview(world: World) -> None:
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval"'))
    inverted = flipped(world)
    shopped = Gate(world.client).evaluate(inverted.ref, data="my-eval")
    assert shopped.passed and not shopped.binding
    assert "requires the evaluation data churn-eval" in (shopped.preview_reason or "")
    with pytest.raises(sy.GateBlocked, match="previews"):
        world.client.models.promote(inverted.ref)


def test_the_policys_data_is_the_default_and_its_newest_version_decides(world: World) -> None:
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval"'))
    passed = Gate(world.client).evaluate("churn@1")
    assert passed.passed and passed.binding and passed.data["name"] == "churn-eval"
    world.client.datasets.register("churn-eval", frame(600, 3))  # a new, reviewed version of the eval data
    stale = Gate(world.client).evaluate("churn@1", data="churn-eval@1")
    assert not stale.binding and "newest" in (stale.preview_reason or "")
    world.client.models.promote("churn@1")  # the earlier binding pass still stands


def test_a_newer_failure_on_the_required_data_supersedes_an_older_pass(world: World) -> None:
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval"'))
    assert Gate(world.client).evaluate("churn@1").passed
    noise = frame(600, 4)
    noise["churned"] = 1 - noise["churned"]  # the new eval data makes churn@1 fail
    world.client.datasets.register("churn-eval", noise)
    assert not Gate(world.client).evaluate("churn@1").passed
    with pytest.raises(sy.GateBlocked, match=r"newest verdict on churn-eval@2 .* failed"):
        world.client.models.promote("churn@1")


def test_a_pinned_evaluation_dataset_is_required_exactly(world: World) -> None:
    world.client.datasets.register("churn-eval", frame(600, 3))
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval@1"'))
    assert Gate(world.client).evaluate("churn@1").data["version"] == 1
    assert not Gate(world.client).evaluate("churn@1", data="churn-eval@2").binding
    world.client.models.promote("churn@1")


# 4. canary and shadow without a verdict -------------------------------------------------------------------


def test_a_canary_needs_a_passing_verdict(world: World) -> None:
    gated_champion(world)
    with pytest.raises(sy.GateBlocked, match="may not take live traffic as a canary"):
        world.client.models.start_canary("churn", 2, 0.5)
    assert world.client.models.canary("churn") is None
    assert cli(world, world.root, "models", "canary", "churn", "2", "--share", "50").exit_code == 1


@EMBEDDED_OVERRIDE
def test_a_canary_with_an_admins_override_is_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    gated_champion(world)
    with pytest.raises(sy.PermissionDenied):
        world.client.models.start_canary("churn", 2, 0.1, override_reason="measure it live")
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")
    world.client.models.start_canary("churn", 2, 0.1, override_reason="measure it live")
    assert any(e.action == "gate.override" and e.details.get("canary") for e in world.client.models.audit_log())


# 5. self-granted admin ------------------------------------------------------------------------------------


def test_shipyard_toml_cannot_grant_the_override(world: World) -> None:
    world.policy("[shipyard]\nallow_override = true\n" + POLICY)
    with pytest.raises(sy.PermissionDenied, match="SHIPYARD_ALLOW_OVERRIDE=1"):
        sy.Client(world.client.settings.uri, artifacts=world.client.settings.artifacts, cwd=world.root)


def test_a_constructor_argument_cannot_grant_the_override(world: World) -> None:
    with pytest.raises(sy.PermissionDenied, match="comes only from SHIPYARD_ALLOW_OVERRIDE=1"):
        sy.Client(world.client.settings.uri, artifacts=world.client.settings.artifacts, allow_override=True)


@EMBEDDED_OVERRIDE
def test_an_override_without_the_environment_is_refused_and_moves_nothing(world: World) -> None:
    gated_champion(world)
    with pytest.raises(sy.PermissionDenied, match="Only an admin"):
        world.client.models.promote("churn@2", override_reason="trust me")
    assert world.client.models.get("churn@champion").version == 1
    assert world.client.models.get("churn@2").gate_override is None


# policies that cannot pass, verdicts that cannot be forged ------------------------------------------------


def test_a_policy_whose_checks_are_all_warn_never_passes(world: World) -> None:
    world.policy(ALL_WARN)
    verdict = Gate(world.client).evaluate("churn@2", data="churn-eval")
    assert not verdict.passed
    with pytest.raises(sy.GateBlocked, match="no blocking check"):
        world.client.models.promote("churn@2")


def test_a_verdict_whose_passed_flag_contradicts_its_checks_is_refused(world: World) -> None:
    Gate(world.client).in_force()
    data = world.client.datasets.get("churn-eval")
    with pytest.raises(sy.InvalidInput, match="contradicts its checks"):
        verdicts_of(world.client).add(
            "f" * 32,
            model_version_id=world.poor.id,
            policy_digest=Gate(world.client).policy_in_force().digest,
            dataset_version_id=data.id,
            shipyard_version=sy.__version__,
            passed=True,
            result={"checks": [{"name": "min_metric:roc_auc", "severity": "error", "status": "fail"}]},
            report_digest=None,
            actor="mallory",
        )
    with pytest.raises(sy.GateBlocked, match="it has no verdict"):
        world.client.models.promote("churn@2")


def test_a_verdict_under_a_digest_that_is_not_in_force_is_a_preview(world: World) -> None:
    Gate(world.client).in_force()
    data = world.client.datasets.get("churn-eval")
    binding, why = verdicts_of(world.client).add(
        "e" * 32,
        model_version_id=world.poor.id,
        policy_digest="sha256:" + "0" * 64,
        dataset_version_id=data.id,
        shipyard_version=sy.__version__,
        passed=True,
        result={"checks": [{"name": "anything", "severity": "error", "status": "pass"}]},
        report_digest=None,
        actor="mallory",
    )
    assert not binding and "other than the one in force" in why
    with pytest.raises(sy.GateBlocked):
        world.client.models.promote("churn@2")


# 6. serving tells the truth -------------------------------------------------------------------------------


@pytest.mark.local_only("moves the alias by SQL in the local database, the bypass it is about")
def test_the_server_reports_gate_passed_0_for_a_champion_without_a_passing_verdict(world: World) -> None:
    pytest.importorskip("fastapi")
    from starlette.testclient import TestClient

    from shipyard.serving.app import create_app
    from shipyard.serving.deployment import ServeOptions

    gated_champion(world)
    with world.client.backend.store.engine.begin() as conn:  # a bypass made straight in the database
        conn.execute(sa.text("UPDATE model_aliases SET model_version_id = :v WHERE alias = 'champion'"), {"v": 2})
    with TestClient(create_app(world.client, ServeOptions("churn@champion", log_predictions=False))) as http:
        schema = http.get("/schema").json()
        assert schema["version"] == 2 and schema["gate_passed"] is False
        assert "no passing verdict under the policy in force" in schema["gate"]["reason"]
        assert "shipyard_gate_passed 0.0" in http.get("/metrics").text


def test_the_server_reports_gate_passed_1_for_a_gated_champion(world: World) -> None:
    pytest.importorskip("fastapi")
    from starlette.testclient import TestClient

    from shipyard.serving.app import create_app
    from shipyard.serving.deployment import ServeOptions

    gated_champion(world)
    with TestClient(create_app(world.client, ServeOptions("churn@champion", log_predictions=False))) as http:
        assert http.get("/schema").json()["gate_passed"] is True
        assert "shipyard_gate_passed 1.0" in http.get("/metrics").text


def test_a_failing_shadow_is_not_loaded(world: World) -> None:
    pytest.importorskip("fastapi")
    from shipyard.serving.app import create_app
    from shipyard.serving.deployment import ServeOptions

    gated_champion(world)
    with pytest.raises(sy.GateBlocked, match="may not take live traffic as a shadow"):
        create_app(world.client, ServeOptions("churn@champion", shadow="churn@2", log_predictions=False))
