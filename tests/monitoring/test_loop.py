"""The closed loop on a real store: an alert retrains, the gate judges, a canary proves or fails, and the
model is promoted or rolled back — one loop per model, every step audited, carried on after a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.monitoring.config import parse_monitors
from shipyard.monitoring.loop import RetrainLoop
from shipyard.monitoring.service import Monitoring
from shipyard.pipelines.targets import run_target
from shipyard.serving.predlog import PredictionLog, PredictionRecord
from tests.monitoring.conftest import FEATURES, MINUTE, T0, LogRows, frame

PIPELINE = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipyard as sy


@sy.step(cache=False)
def load() -> sy.Dataset:
    rng = np.random.default_rng(5)
    df = pd.DataFrame(rng.normal(size=(2_000, 3)), columns=["tenure", "calls", "spend"])
    df["tenure"] += 2.0
    df["churned"] = (df["tenure"] - 2.0 - df["calls"] > 0).astype(int)
    if FAIL:
        raise RuntimeError("the warehouse is down")
    return df


@sy.step(register="churn")
def train(data: sy.Dataset) -> sy.Model:
    df = data.to_pandas()
    return LogisticRegression().fit(df[["tenure", "calls", "spend"]], df["churned"])


@sy.pipeline
def training():
    return train(load())
"""
POLICY = """
[gate]
label = "churned"
[[gate.checks]]
kind = "min_metric"
metric = "accuracy"
threshold = {threshold}
"""


@pytest.fixture
def setup(client: sy.Client, churn: LogisticRegression, tmp_path: Path) -> Path:
    """churn@1 champion, a retraining pipeline, an eval set of the drifted data, and a gate policy."""
    client.models.set_alias("churn", 1, "champion", override_reason="test: the first champion")
    eval_df = frame(1_000, seed=9, shift=2.0)
    eval_df["churned"] = (eval_df["tenure"] - 2.0 - eval_df["calls"] > 0).astype(int)
    client.datasets.register("churn-eval", eval_df, project="default")
    (tmp_path / "pipelines.py").write_text("FAIL = False\n" + PIPELINE)
    (tmp_path / "shipyard.toml").write_text(POLICY.format(threshold=0.8))
    return tmp_path / "pipelines.py"


def monitoring(client: sy.Client, pipeline: Path, **canary: Any) -> Monitoring:
    on_alert = {
        "retrain": f"{pipeline}:training",
        "gate_data": "churn-eval",
        "canary": {"share": 0.2, "min_requests": 20, "max_drop": 0.05, **canary},
    }
    table = {
        "name": "drift",
        "model": "churn@champion",
        "window": "1m",
        "min_rows": 200,
        "rules": [{"kind": "feature_drift"}],
        "on_alert": on_alert,
    }
    return Monitoring(client, parse_monitors([table]), webhook_backoff=0.0)


def canary_traffic(client: sy.Client, *, canary_right: bool, requests: int = 40) -> None:
    """Requests answered since the canary started, half by each role, all with feedback."""
    rng = np.random.default_rng(11)
    now = int(time.time() * 1000)
    with PredictionLog(client.backend, "default", "churn") as log:
        for i in range(requests):
            role, version = ("canary", 2) if i % 2 else ("champion", 1)
            truth = rng.integers(0, 2, 10)
            right = canary_right if role == "canary" else not canary_right
            outputs = truth if right else 1 - truth
            inputs = {name: rng.normal(size=10).tolist() for name in FEATURES}
            log.append(PredictionRecord(f"c{i}", now + i, version, role, inputs, outputs.tolist(), 1.0))
            for row, label in enumerate(truth):
                log.append_feedback(f"c{i}", int(label), at_ms=now + i, row=row)


def test_drift_retrains_gates_canaries_and_promotes(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    log_rows(0, 2_000, shift=2.0)
    [outcome] = monitoring(client, setup).run(now_ms=T0 + MINUTE)
    [loop] = outcome.loops
    assert (loop.state, loop.candidate_version) == ("canary", 2)
    assert client.models.canary("churn", project="default").version == 2  # type: ignore[union-attr]
    canary_traffic(client, canary_right=True)
    [later] = monitoring(client, setup).run(now_ms=T0 + MINUTE)  # a new process carries the loop on
    [done] = later.loops
    assert done.state == "promoted" and "promoted to champion" in done.message
    assert client.models.get("churn@champion", project="default").version == 2
    assert client.models.canary("churn", project="default") is None
    assert [h["state"] for h in done.history] == ["retraining", "gating", "canary", "promoted"]
    actions = [e.action for e in client.models.audit_log("churn", project="default")]
    assert {"loop.start", "loop.gating", "loop.canary", "loop.promoted", "canary.start", "canary.end"} <= set(actions)


def test_a_worse_canary_is_rolled_back_and_says_why(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    log_rows(0, 2_000, shift=2.0)
    monitors = monitoring(client, setup)
    monitors.run(now_ms=T0 + MINUTE)
    canary_traffic(client, canary_right=False)
    [done] = monitors.run(now_ms=T0 + MINUTE)[0].loops
    assert done.state == "rolled_back" and "accuracy canary − champion" in done.message
    assert client.models.get("churn@champion", project="default").version == 1
    [ended] = client.models.canaries("churn", project="default")
    assert ended.state == "rolled_back"
    assert "retrain:rolled_back" in [a.rule for a in client.backend.monitors.alerts("default")]


def test_the_gate_stops_a_retrained_model_that_fails_it(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    (setup.parent / "shipyard.toml").write_text(POLICY.format(threshold=0.999))
    log_rows(0, 2_000, shift=2.0)
    [loop] = monitoring(client, setup).run(now_ms=T0 + MINUTE)[0].loops
    assert loop.state == "blocked" and "the gate blocked churn@2: min_metric:accuracy" in loop.message
    assert client.models.get("churn@champion", project="default").version == 1
    assert client.models.canary("churn", project="default") is None


def test_a_failing_pipeline_leaves_the_champion_alone(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    setup.write_text("FAIL = True\n" + PIPELINE)
    log_rows(0, 2_000, shift=2.0)
    [loop] = monitoring(client, setup).run(now_ms=T0 + MINUTE)[0].loops
    assert loop.state == "failed" and "the retrain pipeline failed (load)" in loop.message
    assert client.models.get("churn@champion", project="default").version == 1
    assert [v.version for v in client.models.versions("churn", project="default")] == [1]
    assert "retrain:failed" in [a.rule for a in client.backend.monitors.alerts("default")]


def test_one_loop_per_model_at_a_time(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    log_rows(0, 2_000, shift=2.0)
    monitors = monitoring(client, setup)
    monitors.run(now_ms=T0 + MINUTE)
    assert RetrainLoop(client, monitors.monitors[0]).start(None, "another alert") is None
    assert len(client.backend.loops.loops("default", unfinished=True)) == 1


def test_a_crash_between_promoting_and_closing_the_canary_is_finished(
    client: sy.Client, setup: Path, log_rows: LogRows
) -> None:
    log_rows(0, 2_000, shift=2.0)
    monitors = monitoring(client, setup)
    assert monitors.run(now_ms=T0 + MINUTE)[0].loops[0].state == "canary"
    client.models.promote("churn@2", project="default")  # the process died right after this
    [done] = monitors.run(now_ms=T0 + MINUTE)[0].loops
    assert done.state == "promoted" and client.models.canary("churn", project="default") is None
    champions = [v.version for v in client.models.versions("churn", project="default") if "champion" in v.aliases]
    assert champions == [2]


def test_a_retrain_served_from_the_cache_says_so(client: sy.Client, setup: Path, log_rows: LogRows) -> None:
    setup.write_text("FAIL = False\n" + PIPELINE.replace("@sy.step(cache=False)", "@sy.step"))
    run_target(client, f"{setup}:training")  # trained once already: version 2, and every step cached
    log_rows(0, 2_000, shift=2.0)
    [loop] = monitoring(client, setup).run(now_ms=T0 + MINUTE)[0].loops
    assert loop.state == "failed" and "served from its cache" in loop.message
    assert client.models.get("churn@champion", project="default").version == 1
