"""The operational check kinds: latency, memory, invariance and determinism_process, on real models and data."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from shipyard.core.errors import InvalidInput
from shipyard.gates import Gate
from shipyard.gates.check import CheckResult
from shipyard.gates.checks import BUILTIN
from shipyard.gates.checks.operations import Invariance
from tests.gates.conftest import World, frame

KINDS = {
    "latency": "shipyard.gates.checks.operations:Latency",
    "memory": "shipyard.gates.checks.operations:Memory",
    "invariance": "shipyard.gates.checks.operations:Invariance",
    "determinism_process": "shipyard.gates.checks.operations:DeterminismProcess",
}
# Each fresh process spends ~3 s importing scikit-learn. It reaches the store exactly as loads_clean's does, which
# runs on both backends, so these tests run on SQLite only to keep the module fast.
SQLITE_ONLY = pytest.mark.parametrize("backend_kind", ["sqlite"])


@pytest.fixture(autouse=True)
def operation_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers the kinds here until they are listed in ``shipyard.gates.checks.BUILTIN``; only adds entries."""
    for kind, target in KINDS.items():
        if kind not in BUILTIN:
            monkeypatch.setitem(BUILTIN, kind, target)


def run_check(world: World, check: str, model: str = "churn@1", *, allow_unsafe: bool = False) -> CheckResult:
    unsafe = "allow_unsafe = true\n" if allow_unsafe else ""
    world.policy(f'[gate]\nlabel = "churned"\n{unsafe}[[gate.checks]]\n{check}\n')
    [result] = Gate(world.client).evaluate(model, data="churn-eval").checks
    return result


def test_latency_passes_within_budget_and_records_a_histogram(world: World) -> None:
    # Budgets far above any machine's time: this pins the measuring and the evidence, not this machine's speed.
    budgets = "p50_ms = 60000\np99_ms = 60000\nbatch_ms = 60000"
    result = run_check(world, f'kind = "latency"\nrequests = 50\n{budgets}')
    assert result.status.value == "pass", result.message
    assert result.measured["batch_rows"] == 1000  # 600 eval rows, repeated to fill the batch
    assert sum(result.evidence["histogram"]["counts"]) == 50
    assert [row["measure"] for row in result.evidence["table"]][-1] == "1,000-row batch"


def test_latency_fails_past_its_budget(world: World) -> None:
    result = run_check(world, 'kind = "latency"\nrequests = 20\np99_ms = 0.001', model="churn@2")
    assert result.status.value == "fail"
    assert "over budget: single-row p99" in result.message and result.threshold["p99_ms"] == 0.001


@SQLITE_ONLY
def test_memory_measures_a_fresh_process(world: World) -> None:
    result = run_check(world, 'kind = "memory"')
    assert result.status.value == "pass", result.message
    # An interpreter with scikit-learn loaded takes tens of MB: a unit mistake (KiB read as bytes) would not.
    assert 20 < result.measured["peak_rss_mb"] < 2048 and result.measured["rows"] == 600


@SQLITE_ONLY
def test_memory_fails_over_its_limit(world: World) -> None:
    result = run_check(world, 'kind = "memory"\nmax_mb = 1')
    assert result.status.value == "fail" and "over the 1 MB limit" in result.message


def test_invariance_passes_when_predictions_ignore_the_column(world: World) -> None:
    result = run_check(world, 'kind = "invariance"\ncolumn = "tenure"\nperturbation = "shuffle"', model="churn@2")
    assert result.status.value == "pass", result.message
    assert result.name == "invariance:tenure:shuffle" and result.measured["inputs_changed"] > 500


def test_invariance_fails_when_predictions_follow_the_column(world: World) -> None:
    result = run_check(world, 'kind = "invariance"\ncolumn = "tenure"\nperturbation = "constant"\nvalue = 0')
    assert result.status.value == "fail" and result.measured["changed_share"] > 0.01
    assert result.evidence["table"][0]["tenure perturbed"] == 0.0


def test_invariance_noise_keeps_an_integer_column_integer(world: World) -> None:
    result = run_check(world, 'kind = "invariance"\ncolumn = "calls"\nperturbation = "noise"\nscale = 0.5')
    assert result.status.value in ("pass", "fail"), result.message
    assert result.measured["inputs_changed"] > 0 and "gaussian noise of 0.5 × std" in result.message


def test_invariance_cannot_add_noise_to_text(world: World) -> None:
    df = frame(600, 1)
    encode = make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough")
    pipeline = make_pipeline(encode, LogisticRegression()).fit(df[["tenure", "region"]], df["churned"])
    with world.client.start_run() as run:
        run.log_model(pipeline, "by-region", input_example=df[["tenure", "region"]].head())
    result = run_check(world, 'kind = "invariance"\ncolumn = "region"\nperturbation = "noise"', model="by-region@1")
    assert result.status.value == "error"
    assert "perturbation = \"noise\" needs a numeric column; 'region' is large_string" in result.message


def test_invariance_cannot_run_on_a_missing_column_or_a_value_of_the_wrong_type(world: World) -> None:
    cases = {
        'column = "tenur"\nperturbation = "shuffle"': "not an input column of churn@1 (did you mean 'tenure'?)",
        'column = "calls"\nperturbation = "constant"\nvalue = 3.5': "value = 3.5 is not a int64 value",
        'column = "calls"\nperturbation = "constant"\nvalue = "many"': "value = 'many' does not fit 'calls'",
    }
    tables = [f'[[gate.checks]]\nkind = "invariance"\nname = "case {i}"\n{c}\n' for i, c in enumerate(cases)]
    world.policy('[gate]\nlabel = "churned"\n' + "".join(tables))
    results = Gate(world.client).evaluate("churn@1", data="churn-eval").checks
    for result, reason in zip(results, cases.values(), strict=True):
        assert result.status.value == "error" and reason in result.message, result.message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"perturbation": "constant"}, 'perturbation = "constant" needs value'),
        ({"perturbation": "noise", "value": 1.0}, 'value applies only to perturbation = "constant"'),
        ({"perturbation": "noise", "scale": 0}, "scale must be greater than 0"),
        ({"perturbation": "nosie"}, "did you mean 'noise'?"),
    ],
)
def test_invariance_policy_errors_are_caught_when_the_policy_loads(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Invariance.validate({"column": "tenure", **raw}, "shipyard.toml")
    assert str(caught.value).startswith("shipyard.toml: ") and reason in str(caught.value)


@SQLITE_ONLY
def test_determinism_process_passes_for_a_model_that_reloads_identically(world: World) -> None:
    result = run_check(world, 'kind = "determinism_process"\nrows = 200')
    assert result.status.value == "pass", result.message
    assert result.measured == {"rows": 200, "differing": 0}


@SQLITE_ONLY
def test_determinism_process_fails_for_a_model_that_depends_on_its_process(world: World) -> None:
    class ProcessBound:  # defined here so cloudpickle stores it by value: the fresh process can load it
        def predict(self, table: pd.DataFrame) -> np.ndarray:
            return np.full(len(table), os.getpid())

    with world.client.start_run() as run:
        run.log_model(ProcessBound(), "bound", flavor="python_function", input_example=frame(5, 1)[["tenure"]])
    result = run_check(world, 'kind = "determinism_process"', model="bound@1", allow_unsafe=True)
    assert result.status.value == "fail" and result.measured == {"rows": 500, "differing": 500}
    assert result.evidence["table"][0]["this process"] == os.getpid()


def test_changed_rows_tolerate_small_numeric_differences() -> None:
    from shipyard.gates.checks.operations import _changed_rows

    before, after = np.array([1.0, 2.0, 3.0]), np.array([1.0005, 2.5, 3.0])
    assert _changed_rows(before, after).tolist() == [True, True, False]
    assert _changed_rows(before, after, atol=0.001).tolist() == [False, True, False]
