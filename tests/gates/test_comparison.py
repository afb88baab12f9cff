"""Comparison checks score each model on its own input columns, on the same eval rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from shipyard.gates import Gate
from shipyard.gates.check import CheckResult
from tests.gates.conftest import World, frame

WIDE = ["tenure", "calls", "monthly", "pro_plan"]
NO_REGRESSION = 'kind = "no_regression"\nmetric = "roc_auc"\nmax_drop = 0.02'


def plan_frame(rows: int, seed: int) -> pd.DataFrame:
    """``frame`` plus two inputs that carry no signal: the label depends on tenure and calls only."""
    rng = np.random.default_rng(seed + 100)
    df = frame(rows, seed).drop(columns="region")
    return df.assign(monthly=rng.uniform(20, 120, rows), pro_plan=rng.integers(0, 2, rows))


@dataclass
class Plans:
    world: World
    train: pd.DataFrame
    evaluation: pd.DataFrame
    champion: LogisticRegression

    def log(self, features: list[str]) -> tuple[str, LogisticRegression]:
        """Log a challenger trained on ``features``; its ref and the fitted model."""
        model = LogisticRegression().fit(self.train[features], self.train["churned"])
        with self.world.client.start_run() as run:
            version = run.log_model(model, "plan", train_data=self.world.client.datasets.get("plan-train"))
        return version.ref, model

    def check(self, check: str, model: str, data: str = "plan-eval") -> CheckResult:
        self.world.policy(f'[gate]\nlabel = "churned"\n[[gate.checks]]\n{check}\n')
        [result] = Gate(self.world.client).evaluate(model, data=data, policy=self.world.root / "shipyard.toml").checks
        return result


@pytest.fixture
def plans(world: World) -> Plans:
    """A champion ``plan@1`` trained on four inputs, and eval data holding all four."""
    train, evaluation = plan_frame(1500, 1), plan_frame(600, 2)
    world.client.datasets.register("plan-train", train)
    world.client.datasets.register("plan-eval", evaluation)
    plans = Plans(world, train, evaluation, LogisticRegression())
    ref, plans.champion = plans.log(WIDE)
    assert plans.check(NO_REGRESSION, ref).status.value == "pass"  # a first champion is allowed
    world.client.models.promote(ref)
    return plans


def auc(plans: Plans, model: LogisticRegression, features: list[str]) -> float:
    """The model's roc_auc on the eval rows, computed straight from scikit-learn on the given columns."""
    scores = model.predict_proba(plans.evaluation[features])[:, 1]
    return float(roc_auc_score(plans.evaluation["churned"], scores))


def test_a_candidate_on_fewer_inputs_is_compared_on_merit(plans: Plans) -> None:
    ref, lean = plans.log(["tenure", "calls"])  # drops two inputs that carry no signal: no real loss
    result = plans.check(NO_REGRESSION, ref)
    assert result.status.value == "pass", result.message
    expected = auc(plans, lean, ["tenure", "calls"]) - auc(plans, plans.champion, WIDE)
    assert result.measured["difference"] == pytest.approx(expected)


def test_a_candidate_cannot_drop_columns_to_make_the_comparison_vacuous(plans: Plans) -> None:
    ref, blind = plans.log(["monthly"])  # keeps only a column without signal
    result = plans.check(NO_REGRESSION, ref)
    assert result.status.value == "fail", result.message
    # the champion was scored on its own four columns, not on the one column the candidate kept
    expected = auc(plans, blind, ["monthly"]) - auc(plans, plans.champion, WIDE)
    assert result.measured["difference"] == pytest.approx(expected)
    assert result.measured["high"] < -0.02


def test_mcnemar_compares_models_with_different_inputs_on_the_same_rows(plans: Plans) -> None:
    ref, _ = plans.log(["tenure", "calls"])
    assert plans.check('kind = "mcnemar"', ref).status.value == "pass"
    ref, blind = plans.log(["monthly"])
    result = plans.check('kind = "mcnemar"', ref)
    truth = plans.evaluation["churned"].to_numpy()
    champion_right = plans.champion.predict(plans.evaluation[WIDE]) == truth
    blind_right = blind.predict(plans.evaluation[["monthly"]]) == truth
    assert result.measured["champion_only"] == int(np.sum(champion_right & ~blind_right))
    assert result.status.value == "fail", result.message


@pytest.mark.parametrize("check", [NO_REGRESSION, 'kind = "mcnemar"'])
def test_eval_data_without_a_champion_input_blocks_the_comparison(plans: Plans, check: str) -> None:
    plans.world.client.datasets.register("plan-eval-narrow", plans.evaluation.drop(columns=["monthly"]))
    ref, _ = plans.log(["tenure", "calls"])  # the candidate itself needs nothing the data lacks
    result = plans.check(check, ref, data="plan-eval-narrow")
    assert result.status.value == "error"
    assert "monthly" in result.message and "champion plan@1" in result.message
