"""A store with a small scikit-learn model registered twice (versions 1 and 2), aliased ``challenger``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.deployment import ServeOptions
from tests._gate_helpers import pass_gate
from tests.conftest import fresh_sqlite_store

FEATURES = ["tenure", "calls", "spend"]


def training_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(300, 3)), columns=FEATURES)
    df["churned"] = (df["tenure"] - df["calls"] > 0).astype(int)
    return df


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[shipyard.Client]:
    monkeypatch.setenv("SHIPYARD_ALLOW_OVERRIDE", "1")  # tests here act as an admin where they override the gate
    uri = fresh_sqlite_store(request, tmp_path / ".shipyard")
    client = shipyard.Client(uri, capture_environment=False, cwd=tmp_path)
    yield client
    client.close()


@pytest.fixture
def models(client: shipyard.Client) -> list[LogisticRegression]:
    """Versions 1 and 2 of ``churn`` (different fits), each holding a passing verdict; ``challenger`` points at 1."""
    fitted = []
    for seed, strength in ((0, 1.0), (1, 0.01)):
        df = training_frame(seed)
        model = LogisticRegression(C=strength).fit(df[FEATURES], df["churned"])
        logged = client.models.log(model, "churn", train_data=df[FEATURES], project="default")
        pass_gate(client, "churn", logged.version)
        fitted.append(model)
    client.models.set_alias("churn", 1, "challenger")
    return fitted


def options(ref: str = "churn@challenger", **overrides: object) -> ServeOptions:
    return ServeOptions(ref=ref, **{"log_predictions": False, **overrides})  # type: ignore[arg-type]


def row(tenure: float = 0.5, calls: float = -0.2, spend: float = 1.0) -> dict[str, float]:
    return {"tenure": tenure, "calls": calls, "spend": spend}
