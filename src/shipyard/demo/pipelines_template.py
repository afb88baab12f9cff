"""The churn model's training pipeline: the newest labelled customers in, a registered ``churn`` version out.

    shipyard pipeline run pipelines.py:training                        # what the retraining loop runs
    shipyard pipeline run pipelines.py:training --param features=weak  # the deliberately weak candidate

``load`` reads the newest version of ``churn-recent``, the table of recently labelled customers that the
labelling job refreshes; the newest quarter of it (by event time) is held out as ``training.holdout``, the
data the gate judges each new version on (``gate_data`` in shipyard.toml).
"""

# mypy: disable-error-code="no-any-return"
# (pandas is untyped, so a step returning a DataFrame for its `-> sy.Dataset` returns Any to a strict checker)
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import shipyard as sy

SOURCE = "churn-recent"
LABEL, TIME = "churned", "event_time"
CATEGORICAL = ["plan", "region", "payment_method", "contract", "channel", "device_os"]
FEATURES = {
    "all": [
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_calls",
        "late_payments",
        "data_usage_gb",
        "avg_session_minutes",
        "logins_per_week",
        "days_since_last_login",
        "discount_pct",
        "age",
        "referrals",
        "satisfaction",
        "dropped_calls",
        "streaming_hours",
        "devices",
        "outage_minutes",
        "email_opens",
        *CATEGORICAL,
    ],
    "weak": ["tenure_months", "age", "devices"],  # a quick baseline on three features, one of them useful
}


@sy.step(cache=False)  # the same name holds new rows after each labelling run: always read it afresh
def load() -> sy.Dataset:
    # The runner takes a DatasetVersion as the step's output as it is; sy.Dataset is only what the next step gets.
    return sy.datasets.get(SOURCE)  # type: ignore[return-value]


@sy.step
def train_rows(data: sy.Dataset, holdout: float = 0.25) -> sy.Dataset:
    """Every row but the newest ``holdout`` share (by event time)."""
    frame = data.to_pandas().sort_values(TIME, kind="stable")
    return frame.iloc[: len(frame) - int(len(frame) * holdout)]


@sy.step
def holdout(data: sy.Dataset, share: float = 0.25) -> sy.Dataset:
    """The newest ``share`` of the rows: no model of this run trains on them."""
    frame = data.to_pandas().sort_values(TIME, kind="stable")
    return frame.iloc[len(frame) - int(len(frame) * share) :]


@sy.step(register="churn")
def train(rows: sy.Dataset, features: str = "all") -> sy.Model:
    """Logistic regression: numbers standardised, categories one-hot encoded."""
    frame = rows.to_pandas()
    columns = FEATURES[features]
    numeric = [c for c in columns if c not in CATEGORICAL]
    categorical = [c for c in columns if c in CATEGORICAL]
    encode = ColumnTransformer(
        [("numbers", StandardScaler(), numeric), ("categories", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    return make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(frame[columns], frame[LABEL])


@sy.step
def evaluate(model: sy.Model, rows: sy.Dataset, features: str = "all") -> dict[str, float]:
    frame = rows.to_pandas()
    scores: Any = model.predict_proba(frame[FEATURES[features]])[:, 1]
    return {
        "roc_auc": float(roc_auc_score(frame[LABEL], scores)),
        "accuracy": float(accuracy_score(frame[LABEL], np.asarray(scores) >= 0.5)),
    }


@sy.pipeline
def training(features: str = "all", holdout_share: float = 0.25) -> Any:
    data = load()
    model = train(train_rows(data, holdout_share), features=features)
    return evaluate(model, holdout(data, holdout_share), features=features)
