"""The policy in force lives in the store: applied on purpose (the first one implicitly), versioned, audited
with its diff; a weakening change needs a reason; the CLI says when shipyard.toml differs from it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

import shipyard as sy
from shipyard.cli.main import app
from shipyard.core.policy_rules import changes
from shipyard.gates import Gate
from tests.conftest import client_env
from tests.gates.conftest import POLICY, World


@pytest.fixture
def shipyard(world: World, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(world.root)

    def run(*args: str) -> Result:
        env = {"COLUMNS": "200", "NO_COLOR": "1", **client_env(world.client)}
        return CliRunner(env=env).invoke(app, list(args))

    return run


def test_the_first_gate_run_applies_the_written_policy_implicitly_and_audits_it(world: World) -> None:
    assert world.client.backend.policies.in_force("default") is None
    Gate(world.client).evaluate("churn@1", data="churn-eval")
    [applied] = Gate(world.client).history()
    assert applied.version == 1 and applied.implicit and applied.digest == Gate(world.client).policy().digest
    [event] = [e for e in world.client.models.audit_log(limit=1000) if e.action == "gate.policy.apply"]
    assert event.details["implicit"] and event.details["digest"] == applied.digest


def test_a_stricter_policy_applies_without_a_reason(world: World) -> None:
    Gate(world.client).in_force()
    world.policy(POLICY.replace("0.75", "0.8"))
    applied, found = Gate(world.client).apply()
    assert applied.version == 2 and [c.weakens for c in found] == [False]


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda p: p.replace("0.75", "0.6"), "threshold 0.75 → 0.6"),
        (lambda p: p.replace('[[gate.checks]]\nkind = "min_rows"\nmin = 100\n', ""), "check min_rows removed"),
        (lambda p: p.replace('kind = "min_rows"', 'kind = "min_rows"\nseverity = "warn"'), "severity error → warn"),
        (lambda p: p.replace("[gate]", "[gate]\nprotected_aliases = []"), "'champion' is no longer protected"),
        (lambda p: p.replace("[gate]", "[gate]\nallow_unsafe = true"), "allow_unsafe False → True"),
    ],
)
def test_a_weakening_change_needs_a_reason_and_changes_nothing_without_one(
    world: World, edit: object, said: str
) -> None:
    Gate(world.client).in_force()
    world.policy(edit(POLICY))  # type: ignore[operator]
    with pytest.raises(sy.InvalidInput, match="weakens the gate"):
        Gate(world.client).apply()
    assert Gate(world.client).in_force().version == 1  # type: ignore[union-attr]
    applied, found = Gate(world.client).apply(reason="agreed in review #12")
    assert applied.version == 2 and applied.reason == "agreed in review #12"
    assert any(c.weakens and said in c.text for c in found)
    event = next(e for e in world.client.models.audit_log(limit=1000) if e.action == "gate.policy.apply")
    assert event.details["reason"] == "agreed in review #12" and any(said in w for w in event.details["weakens"])


def test_changing_the_evaluation_data_is_a_weakening(world: World) -> None:
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval"'))
    Gate(world.client).in_force()
    world.policy(POLICY.replace("[gate]", '[gate]\ndata = "my-eval"'))
    with pytest.raises(sy.InvalidInput, match="evaluation data churn-eval → my-eval"):
        Gate(world.client).apply()


def test_applying_the_policy_in_force_again_changes_nothing(world: World) -> None:
    Gate(world.client).in_force()
    applied, found = Gate(world.client).apply()
    assert applied.version == 1 and found == []


def test_an_invalid_policy_is_never_applied(world: World) -> None:
    world.policy('[gate]\n[[gate.checks]]\nkind = "min_metricz"\n')
    with pytest.raises(sy.InvalidInput, match="min_metricz"):
        Gate(world.client).apply()
    assert world.client.backend.policies.in_force("default") is None


@pytest.mark.parametrize("data", ["churn eval@x", "churn-eval@99999999999999999999999", "@3", ""])
def test_policy_data_must_name_a_dataset(world: World, data: str) -> None:
    world.policy(f'[gate]\ndata = "{data}"\n')
    with pytest.raises(sy.InvalidInput, match=r"\[gate\] data names the evaluation dataset"):
        Gate(world.client).policy()


def test_the_cli_applies_with_a_reason_and_shows_history_and_diff(shipyard, world: World) -> None:
    assert shipyard("gate", "run", "churn@1", "--data", "churn-eval").exit_code == 0
    world.policy(POLICY.replace("0.75", "0.7"))
    shown = shipyard("gate", "policy")
    assert shown.exit_code == 0 and "NOT the policy in force" in shown.stdout
    assert "weakens: check min_metric[roc_auc]: threshold 0.75 → 0.7" in shipyard("gate", "policy", "diff").stdout
    refused = shipyard("gate", "policy", "apply")
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    applied = shipyard("gate", "policy", "apply", "--reason", "the business accepts 0.7")
    assert applied.exit_code == 0 and "Policy version 2 is now in force" in applied.stdout
    history = shipyard("gate", "policy", "history")
    assert "v2" in history.stdout and "the business accepts 0.7" in history.stdout and "implicitly" in history.stdout


def test_gate_run_says_when_the_local_file_differs_from_the_policy_in_force(shipyard, world: World) -> None:
    assert shipyard("gate", "run", "churn@1", "--data", "churn-eval").exit_code == 0
    world.policy(POLICY.replace("0.75", "0.99"))
    result = shipyard("gate", "run", "churn@1", "--data", "churn-eval")
    assert result.exit_code == 0  # judged by the policy in force, which churn@1 passes
    assert "differs from the policy in force" in result.stderr and "gate policy apply" in result.stderr


def test_gate_run_of_a_model_whose_name_has_a_slash_writes_its_report(shipyard, world: World) -> None:
    from sklearn.linear_model import LogisticRegression

    from tests.gates.conftest import frame

    train = frame(500, 5)
    with world.client.start_run() as run:
        run.log_model(
            LogisticRegression().fit(train[["tenure", "calls"]], train["churned"]),
            "team/churn",
            train_data=train[["tenure", "calls"]],
        )
    result = shipyard("gate", "run", "team/churn@1", "--data", "churn-eval")
    assert result.exit_code == 0, result.output
    assert (world.root / "gate-team_churn-1.html").is_file()
    report = shipyard("gate", "report", "team/churn@1")
    assert report.exit_code == 0 and "gate-team_churn-1.html" in report.stdout


def test_the_diff_names_each_weakening() -> None:
    old = {
        "protected_aliases": ["champion", "prod"],
        "checks": [{"kind": "max_metric", "metric": "rmse", "threshold": 2}],
    }
    new = {"protected_aliases": ["champion"], "checks": [{"kind": "max_metric", "metric": "rmse", "threshold": 1}]}
    found = {c.text: c.weakens for c in changes(old, new)}
    assert found == {"alias 'prod' is no longer protected": True, "check max_metric[rmse]: threshold 2 → 1": False}


def test_a_policy_that_names_no_evaluation_data_says_so_on_every_run(world: World) -> None:
    unnamed = Gate(world.client).evaluate("churn@1", data="churn-eval")
    assert any("names no evaluation data" in note for note in unnamed.notes)
    world.apply(POLICY.replace("[gate]", '[gate]\ndata = "churn-eval"'))
    named = Gate(world.client).evaluate("churn@1")
    assert not any("names no evaluation data" in note for note in named.notes)
