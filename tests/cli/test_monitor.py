"""``shipyard monitor``: run (exit 1 when a rule fires), windows, alerts, ack and resolve; bad configs exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shipyard
from shipyard.serving.predlog import PredictionLog, PredictionRecord
from tests.cli.helpers import Invoke, strict_json
from tests.monitoring.conftest import FEATURES, MINUTE, frame

CONFIG = """
[[monitor]]
name = "drift"
model = "churn@live"
window = "1m"
min_rows = 200
[[monitor.rules]]
kind = "feature_drift"
"""


@pytest.fixture
def config(store: shipyard.Client, tmp_path: Path) -> Path:
    """churn@live trained on registered data, and a complete minute of shifted traffic two minutes ago."""
    from sklearn.linear_model import LogisticRegression

    train = frame(2_000)
    model = LogisticRegression().fit(train, train["tenure"] > 0)
    store.models.log(model, "churn", train_data=store.datasets.register("churn-train", train))
    store.models.set_alias("churn", 1, "live")
    start = (int(time.time() * 1000) // MINUTE - 2) * MINUTE
    shifted = frame(500, seed=3, shift=2.0)
    with PredictionLog(store.backend, "default", "churn") as log:
        for i in range(0, 500, 50):
            inputs = {name: shifted[name].iloc[i : i + 50].tolist() for name in FEATURES}
            log.append(PredictionRecord(f"r{i}", start + i, 1, "champion", inputs, [1] * 50, 1.0))
    path = tmp_path / "monitors.toml"
    path.write_text(CONFIG)
    return path


def test_run_exits_1_when_a_rule_fires_and_the_alert_can_be_handled(invoke: Invoke, config: Path) -> None:
    ran = invoke("monitor", "run", "--config", str(config))
    assert ran.exit_code == 1, ran.output
    assert "feature_drift: fail" in ran.stdout and "opened alert 1" in ran.stdout
    again = invoke("monitor", "run", "--config", str(config))
    assert again.exit_code == 0 and "no complete window to evaluate yet" in again.stdout
    [alert] = strict_json(invoke("monitor", "alerts", "--json").stdout)
    assert (alert["state"], alert["monitor"], alert["rule"]) == ("open", "drift", "feature_drift")
    assert "tenure" in invoke("monitor", "windows", "drift", "--config", str(config)).stdout
    assert "is acknowledged" in invoke("monitor", "ack", "1").stdout
    assert "is resolved" in invoke("monitor", "resolve", "1").stdout
    assert "No open or acknowledged alerts" in invoke("monitor", "alerts").stdout
    refused = invoke("monitor", "ack", "1")
    assert refused.exit_code == 2 and "already resolved" in refused.output


def test_a_bad_configuration_exits_2_naming_the_key(invoke: Invoke, config: Path) -> None:
    config.write_text(CONFIG.replace('kind = "feature_drift"', 'kind = "feature_drfit"'))
    result = invoke("monitor", "run", "--config", str(config))
    assert result.exit_code == 2 and "did you mean 'feature_drift'" in result.output
    missing = invoke("monitor", "run", "--config", str(config.parent / "nope.toml"))
    assert missing.exit_code == 2 and "No monitor file at" in missing.output
    valid = config.with_name("ok.toml")
    valid.write_text(CONFIG)
    unknown = invoke("monitor", "run", "other", "--config", str(valid))
    assert unknown.exit_code == 2 and "No monitor named 'other'" in unknown.output


def test_a_configuration_without_monitors_is_an_input_error_not_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("[shipyard]\n")
    result = invoke("monitor", "windows", "drift", "--config", str(empty))
    assert result.exit_code == 2
    assert result.stderr == f"error: {empty} declares no [[monitor]] tables; add one (see docs/monitoring.md).\n"


def test_loops_of_an_unknown_model_or_project_exit_2_naming_the_known_ones(invoke: Invoke, config: Path) -> None:
    assert invoke("monitor", "loops", "--model", "churn").exit_code == 0
    model = invoke("monitor", "loops", "--model", "chrun")
    assert model.exit_code == 2
    assert "No registered model named 'chrun' in project 'default'. Did you mean 'churn'?" in model.stderr
    project = invoke("monitor", "loops", "--project", "nope")
    assert project.exit_code == 2 and "No project named 'nope'. Known projects: default;" in project.stderr


@pytest.mark.parametrize(
    "args",
    [["ack", str(2**64)], ["resolve", str(2**64)], ["alerts", "--limit", str(2**64)], ["loops", "--limit", str(2**64)]],
)
def test_a_number_beyond_the_stores_integers_is_a_usage_error(invoke: Invoke, args: list[str]) -> None:
    result = invoke("monitor", *args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert f"Input should be less than or equal to {2**63 - 1}; got '{2**64}'." in line


def test_a_watch_interval_beyond_a_week_is_a_usage_error(invoke: Invoke, config: Path) -> None:
    result = invoke("monitor", "watch", "--interval", "1e400", "--config", str(config))
    assert result.exit_code == 2
    assert "Input should be less than or equal to 604800; got '1e400'." in result.stderr


def test_report_writes_an_html_file_prints_its_path_and_has_json(invoke: Invoke, config: Path, tmp_path: Path) -> None:
    invoke("monitor", "run", "--config", str(config))
    out = tmp_path / "drift.html"
    made = invoke("monitor", "report", "drift", "--html", str(out), "--config", str(config))
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == str(out) and "<h3>tenure</h3>" in out.read_text(encoding="utf-8")
    data = strict_json(
        invoke("monitor", "report", "drift", "--html", str(out), "--json", "--config", str(config)).stdout
    )
    assert [c["column"] for c in data["columns"]] == ["tenure", "calls", "spend"]
    assert (data["counts"]["fail"], len(data["alerts"]), data["report_path"]) == (1, 1, str(out))
    unknown = invoke("monitor", "report", "drfit", "--config", str(config))
    assert unknown.exit_code == 2 and "Did you mean 'drift'?" in unknown.output


def test_watch_evaluates_until_sigterm(store: shipyard.Client, config: Path) -> None:
    command = [sys.executable, "-m", "shipyard.cli", "--uri", store.settings.uri, "monitor", "watch"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [*command, "--interval", "0.2", "--config", str(config)], stdout=subprocess.PIPE, text=True, env=env
    ) as watcher:
        assert watcher.stdout is not None
        seen = []
        for line in watcher.stdout:  # blocks until the watcher prints; the test's timeout bounds it
            seen.append(line)
            if "opened alert" in line:
                break
        watcher.send_signal(signal.SIGTERM)
        rest, _ = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, rest
    assert seen[0].startswith("Watching drift every 0.2 s") and "Stopped watching." in rest
