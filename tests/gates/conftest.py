"""A store with training and eval data and two logged classifiers: a good one and a poor one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.gates import Gate

POLICY = """
[gate]
label = "churned"
[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.75
[[gate.checks]]
kind = "min_rows"
min = 100
"""


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.uniform(0, 5, rows),
            "calls": rng.integers(0, 8, rows),
            "region": rng.choice(["eu", "us", "apac"], rows),
        }
    )
    odds = -1.0 - 0.9 * df.tenure + 0.6 * df.calls
    df["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return df


@dataclass
class World:
    client: sy.Client
    root: Path
    good: sy.ModelVersion
    poor: sy.ModelVersion
    eval_data: sy.DatasetVersion

    def policy(self, body: str) -> None:
        """Write shipyard.toml (the first gate run or promotion applies it, if no policy is in force yet)."""
        (self.root / "shipyard.toml").write_text(body)

    def apply(self, body: str, reason: str = "") -> None:
        """Write shipyard.toml and make it the policy in force."""
        self.policy(body)
        Gate(self.client).apply(reason=reason)


@pytest.fixture
def world(client: sy.Client, tmp_path: Path) -> World:
    (tmp_path / "shipyard.toml").write_text(POLICY)
    train_df, eval_df = frame(1500, 1), frame(600, 2)
    train = client.datasets.register("churn-train", train_df)
    evaluation = client.datasets.register("churn-eval", eval_df)
    features = ["tenure", "calls"]
    with client.start_run(name="good") as run:
        good = run.log_model(
            LogisticRegression().fit(train_df[features], train_df["churned"]), "churn", train_data=train
        )
    with client.start_run(name="poor") as run:
        dummy = DummyClassifier(strategy="prior").fit(train_df[features], train_df["churned"])
        poor = run.log_model(dummy, "churn", train_data=train)
    return World(client, tmp_path, good, poor, evaluation)
