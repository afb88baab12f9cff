"""Every built-in check kind with a passing and a failing case, on real models and data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shipyard.gates import Gate
from shipyard.gates.check import CheckResult
from tests.gates.conftest import World, frame


def run_check(world: World, check: str, model: str = "churn@1", data: str = "churn-eval") -> CheckResult:
    world.policy(f'[gate]\nlabel = "churned"\n[[gate.checks]]\n{check}\n')
    [result] = Gate(world.client).evaluate(model, data=data, policy=world.root / "shipyard.toml").checks
    return result


@pytest.mark.parametrize(
    ("check", "passing"),
    [
        ('kind = "min_metric"\nmetric = "roc_auc"\nthreshold = 0.75', True),
        ('kind = "min_metric"\nmetric = "roc_auc"\nthreshold = 0.99', False),
        ('kind = "max_metric"\nmetric = "log_loss"\nthreshold = 0.7', True),
        ('kind = "max_metric"\nmetric = "log_loss"\nthreshold = 0.1', False),
        ('kind = "min_rows"\nmin = 100', True),
        ('kind = "min_rows"\nmin = 100000', False),
        ('kind = "class_balance"\nmin_share = 0.05', True),
        ('kind = "class_balance"\nmin_share = 0.49', False),
        ('kind = "slice_metric"\nby = ["region"]\nmetric = "recall"\nmin = 0.3', True),
        ('kind = "slice_metric"\nby = ["region"]\nmetric = "recall"\nmin = 0.99', False),
        ('kind = "schema"', True),
        ('kind = "completeness"', True),
        ('kind = "no_nan_inf"', True),
        ('kind = "split_overlap"', True),
        ('kind = "safe_format"', True),
        ('kind = "lineage_complete"', False),  # tests run outside a git checkout: no commit recorded
        ('kind = "beats_baseline"\nmetric = "roc_auc"', True),
        ('kind = "loads_clean"', True),
    ],
)
def test_check_outcomes(world: World, check: str, passing: bool) -> None:
    result = run_check(world, check)
    assert result.status.value == ("pass" if passing else "fail"), result.message
    assert result.message


def test_schema_fails_on_a_changed_type(world: World) -> None:
    df = frame(300, 5).assign(calls=lambda d: d["calls"] + 0.5)
    world.client.datasets.register("float-calls", df)
    result = run_check(world, 'kind = "schema"', data="float-calls")
    assert result.status.value == "fail" and "calls" in result.message


def test_completeness_fails_when_inputs_go_missing(world: World) -> None:
    df = frame(300, 6)
    df.loc[: len(df) // 2, "tenure"] = np.nan
    world.client.datasets.register("holey", df)
    result = run_check(world, 'kind = "completeness"', data="holey")
    assert result.status.value == "fail" and "tenure" in result.message


def test_no_nan_inf_fails_on_infinite_inputs(world: World) -> None:
    df = frame(300, 7)
    df.loc[3, "tenure"] = math.inf
    world.client.datasets.register("infinite", df)
    result = run_check(world, 'kind = "no_nan_inf"', data="infinite")
    assert result.status.value == "fail" and "tenure: 1 non-finite" in result.message


def test_split_overlap_fails_when_eval_rows_were_trained_on(world: World) -> None:
    world.client.datasets.register("leaky", frame(1500, 1).head(400))
    result = run_check(world, 'kind = "split_overlap"', data="leaky")
    assert result.status.value == "fail" and result.measured["overlap_share"] == 1.0


def test_safe_format_fails_for_a_pickled_model_unless_allowed(world: World) -> None:
    class Rule:
        def predict(self, table):
            return (np.asarray(table["calls"]) > 3).astype(int)

    with world.client.start_run() as run:
        run.log_model(Rule(), "rule", flavor="python_function", input_example=frame(5, 1)[["calls"]])
    assert run_check(world, 'kind = "safe_format"', model="rule@1").status.value == "fail"


def test_mcnemar_passes_a_first_champion_and_fails_a_worse_challenger(world: World) -> None:
    assert run_check(world, 'kind = "mcnemar"').status.value == "pass"
    world.client.models.promote("churn@1")
    worse = run_check(world, 'kind = "mcnemar"', model="churn@2")
    assert worse.measured["champion_only"] > worse.measured["candidate_only"]
    assert worse.status.value == "fail", worse.message


def test_group_split_fails_on_shared_groups_and_passes_on_new_ones(world: World) -> None:
    assert run_check(world, 'kind = "group_split"\nkey = "region"').status.value == "fail"
    world.client.datasets.register("new-regions", frame(300, 8).assign(region="mars"))
    assert run_check(world, 'kind = "group_split"\nkey = "region"', data="new-regions").status.value == "pass"


def test_time_split_needs_every_training_row_older(world: World) -> None:
    assert run_check(world, 'kind = "time_split"\ncolumn = "tenure"').status.value == "fail"
    world.client.datasets.register("later", frame(300, 9).assign(tenure=lambda d: d["tenure"] + 10))
    assert run_check(world, 'kind = "time_split"\ncolumn = "tenure"', data="later").status.value == "pass"


def test_metric_policy_refuses_accuracy_on_imbalanced_data(world: World) -> None:
    world.policy(
        '[gate]\nlabel = "churned"\nprimary_metric = "accuracy"\n[[gate.checks]]\nkind = "metric_policy"\n'
        "min_share = 0.49\n"
    )
    [result] = Gate(world.client).evaluate("churn@1", data="churn-eval").checks
    assert result.status.value == "fail" and "balanced_accuracy" in result.message
    assert run_check(world, 'kind = "metric_policy"').status.value == "pass"


def test_a_well_behaved_model_is_deterministic_and_refuses_bad_input_cleanly(world: World) -> None:
    assert run_check(world, 'kind = "determinism"').status.value == "pass"
    result = run_check(world, 'kind = "bad_input"')
    assert result.status.value == "pass", result.message
    assert {row["outcome"] for row in result.evidence["table"]} <= {"refused cleanly", "accepted"}


def test_a_constant_model_does_not_beat_the_baseline(world: World) -> None:
    result = run_check(world, 'kind = "beats_baseline"\nmetric = "accuracy"', model="churn@2")
    assert result.status.value == "fail", result.message


def test_loads_clean_fails_past_its_time_budget(world: World) -> None:
    result = run_check(world, 'kind = "loads_clean"\nmax_seconds = 0.1')
    assert result.status.value == "fail" and result.measured["load_seconds"] > 0.1


def test_fairness_gap_measures_the_largest_rate_gap_between_groups(world: World) -> None:
    assert run_check(world, 'kind = "fairness_gap"\nattribute = "region"\nmax_gap = 0.5').status.value == "pass"
    biased = frame(900, 11)
    biased.loc[biased.region == "eu", "churned"] = 1 - biased.loc[biased.region == "eu", "churned"]
    world.client.datasets.register("biased", biased)
    result = run_check(world, 'kind = "fairness_gap"\nattribute = "region"\nmax_gap = 0.2', data="biased")
    assert result.status.value == "fail" and result.measured["gap"] > 0.2


def test_leakage_probe_flags_an_input_that_is_the_label(world: World) -> None:
    assert run_check(world, 'kind = "leakage_probe"').status.value == "pass"
    leaky = frame(400, 12)
    leaky["calls"] = leaky["churned"] * 7  # an input that is a copy of the label
    world.client.datasets.register("leaky-label", leaky)
    result = run_check(world, 'kind = "leakage_probe"', data="leaky-label")
    assert result.status.value == "fail" and "calls" in result.message


def test_a_slice_may_not_fall_further_below_the_champion_than_max_drop(world: World) -> None:
    assert Gate(world.client).evaluate("churn@1", data="churn-eval").passed
    world.client.models.promote("churn@1")
    check = 'kind = "slice_metric"\nby = ["region"]\nmetric = "accuracy"\nmin = 0.1\nmax_drop = 0.01'
    result = run_check(world, check, model="churn@2")
    assert result.status.value == "fail"
    assert all("champion" in s for s in result.evidence["slices"])


class Dice:
    """A model that answers larger batches at random: it must fail determinism. (It answers the few example rows
    that registration predicts twice the same way, or registration would refuse it.)"""

    def predict(self, table):
        if len(table) <= 5:
            return np.zeros(len(table), dtype=int)
        return np.random.default_rng().integers(0, 2, len(table))


class Brittle:
    """A model that crashes on a missing value its signature allows: it must fail bad_input."""

    def predict(self, table):
        calls = np.asarray(table["calls"], dtype=float)
        if np.isnan(calls).any():
            raise TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")  # a typical crash
        return (calls > 3).astype(int)


def log_unsafe(world: World, model: object, name: str, example: object) -> None:
    with world.client.start_run() as run:
        run.log_model(model, name, flavor="python_function", input_example=example)


def test_determinism_fails_for_a_model_that_answers_at_random(world: World) -> None:
    log_unsafe(world, Dice(), "dice", frame(20, 1)[["calls"]])
    world.policy('[gate]\nlabel = "churned"\nallow_unsafe = true\n[[gate.checks]]\nkind = "determinism"\n')
    [result] = Gate(world.client).evaluate("dice@1", data="churn-eval").checks
    assert result.status.value == "fail" and result.measured["differing"] > 0


def test_bad_input_fails_for_a_model_that_crashes_on_a_null(world: World) -> None:
    example = frame(20, 1)[["calls"]].astype("float64")
    example.loc[10, "calls"] = np.nan  # the signature then allows nulls (save only tries the first 5 rows)
    log_unsafe(world, Brittle(), "brittle", example)
    world.policy('[gate]\nlabel = "churned"\nallow_unsafe = true\n[[gate.checks]]\nkind = "bad_input"\n')
    [result] = Gate(world.client).evaluate("brittle@1", data="churn-eval").checks
    assert result.status.value == "fail" and "null: crashed" in result.message


def test_lineage_complete_passes_for_a_model_trained_from_a_clean_commit(
    world: World,
    store_settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import subprocess

    import shipyard as sy
    from shipyard.tracking import environment

    repo = tmp_path_factory.mktemp("repo")
    for args in (
        ["init", "-q"],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    environment._capture.cache_clear()  # captured once per process and folder; this test trains from a new one
    client = sy.Client(store_settings["uri"], artifacts=store_settings["artifacts"], cwd=world.root)
    train = frame(300, 1)
    with client.start_run() as run:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression().fit(train[["tenure", "calls"]], train["churned"])
        run.log_model(model, "clean", train_data="churn-train")
    world.policy('[gate]\nlabel = "churned"\n[[gate.checks]]\nkind = "lineage_complete"\n')
    [result] = Gate(client).evaluate("clean@1", data="churn-eval").checks
    assert result.status.value == "pass", result.message
    client.close()
