"""Monitors end to end on a real store: windows, rules, alerts (deduplicated, resolved), webhooks, references."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.monitoring.config import parse_monitors
from shipyard.monitoring.service import Monitoring
from shipyard.serving.predlog import PredictionLog
from tests.monitoring.conftest import MINUTE, T0, Hook, LogRows

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


def monitoring(client: sy.Client, *rules: dict[str, Any], **options: Any) -> Monitoring:
    table = {"name": "drift", "model": "churn@live", "window": "1m", "min_rows": 200, "rules": list(rules), **options}
    return Monitoring(client, parse_monitors([table]), webhook_backoff=0.0)


DRIFT = {"kind": "feature_drift"}


def test_a_calm_window_passes_and_a_shifted_one_opens_one_alert(client: sy.Client, log_rows: LogRows) -> None:
    log_rows(0, 2_000)
    log_rows(1, 2_000, shift=2.0)
    log_rows(2, 2_000, shift=2.0)
    [outcome] = monitoring(client, DRIFT).run(now_ms=T0 + 3 * MINUTE)
    assert [w.status for w in outcome.windows] == ["pass", "fail", "fail"]
    assert [w.fired for w in outcome.windows] == [[], ["feature_drift"], ["feature_drift"]]
    assert (
        "tenure" in outcome.windows[1].rules[0].message
        and "calls" not in outcome.windows[1].rules[0].details["drifted"]
    )
    [alert] = client.backend.monitors.alerts("default")
    assert (alert.state, alert.windows, alert.rule, len(outcome.opened)) == ("open", 2, "feature_drift", 1)


def test_a_window_is_evaluated_once_and_a_calm_one_resolves_the_alert(client: sy.Client, log_rows: LogRows) -> None:
    monitors = monitoring(client, DRIFT)
    log_rows(0, 2_000, shift=2.0)
    assert monitors.run(now_ms=T0 + MINUTE)[0].opened
    assert monitors.run(now_ms=T0 + MINUTE)[0].windows == []
    log_rows(1, 2_000)
    [outcome] = monitors.run(now_ms=T0 + 2 * MINUTE)
    assert [a.state for a in outcome.resolved] == ["resolved"]
    assert client.backend.monitors.alerts("default", states=("open",)) == []
    stored = client.backend.monitors.windows("default", "drift")
    assert [w.status for w in stored] == ["fail", "pass"]
    assert stored[0].results["drift"]["feature_drift"]["columns"]["tenure"]["status"] == "drift"


def test_an_alert_waits_for_for_windows_in_a_row_and_thin_windows_do_not_count(
    client: sy.Client, log_rows: LogRows
) -> None:
    log_rows(0, 2_000, shift=2.0)
    log_rows(1, 50, shift=2.0)  # under min_rows: insufficient data, neither a failure nor a pass
    log_rows(2, 2_000, shift=2.0)
    [outcome] = monitoring(client, {**DRIFT, "for_windows": 2}).run(now_ms=T0 + 3 * MINUTE)
    assert [w.status for w in outcome.windows] == ["fail", "insufficient_data", "fail"]
    assert [w.fired for w in outcome.windows] == [[], [], ["feature_drift"]]
    assert "50 rows in the window; 200 needed" in outcome.windows[1].rules[0].message


def test_min_features_keeps_one_drifting_column_from_alerting(client: sy.Client, log_rows: LogRows) -> None:
    log_rows(0, 2_000, shift=2.0)
    [outcome] = monitoring(client, {**DRIFT, "min_features": 2}).run(now_ms=T0 + MINUTE)
    assert outcome.windows[0].rules[0].status == "pass" and not outcome.opened


def test_prediction_drift_is_judged_against_the_models_own_predictions(client: sy.Client, log_rows: LogRows) -> None:
    log_rows(0, 2_000)
    log_rows(1, 2_000, shift=3.0)
    [outcome] = monitoring(client, {"kind": "prediction_drift"}).run(now_ms=T0 + 2 * MINUTE)
    assert [w.rules[0].status for w in outcome.windows] == ["pass", "fail"]


@pytest.mark.parametrize("hook", [[500, 500]], indirect=True)
def test_a_failing_webhook_keeps_the_alert_and_is_tried_again(client: sy.Client, log_rows: LogRows, hook: Hook) -> None:
    monitors = monitoring(client, DRIFT, on_alert={"webhook": hook.url, "webhook_retries": 1})
    log_rows(0, 2_000, shift=2.0)
    [alert] = monitors.run(now_ms=T0 + MINUTE)[0].opened
    [stored] = client.backend.monitors.alerts("default")
    assert (stored.id, stored.state, stored.notify_state, stored.notify_attempts) == (alert.id, "open", "failed", 2)
    monitors.run(now_ms=T0 + MINUTE)  # nothing new to evaluate; the failed delivery is retried
    assert [a.notify_state for a in client.backend.monitors.alerts("default")] == ["sent"]
    assert hook.received[-1]["event"] == "opened" and hook.received[-1]["alert"]["id"] == alert.id


def test_live_metric_uses_feedback_and_counts_unknown_ids(
    client: sy.Client, log_rows: LogRows, churn: LogisticRegression
) -> None:
    ids = log_rows(0, 2_000)
    with PredictionLog(client.backend, "default", "churn") as log:
        for request_id in ids:
            log.append_feedback(request_id, 0, at_ms=T0 + MINUTE + 1)  # every row labelled 0
        log.append_feedback("nobody-asked", 1, at_ms=T0 + MINUTE + 2)
    rule = {"kind": "live_metric", "metric": "accuracy", "min": 0.9, "min_labels": 100}
    [outcome] = monitoring(client, rule).run(now_ms=T0 + MINUTE)
    [result] = outcome.windows[0].rules
    assert result.status == "fail" and result.details["unknown_feedback"] == 1
    assert result.details["labels"] == 2_000 and 0.3 < result.details["value"] < 0.7


def test_the_reference_is_computed_once_and_stored(client: sy.Client, log_rows: LogRows) -> None:
    log_rows(0, 300)
    monitoring(client, DRIFT).run(now_ms=T0 + MINUTE)
    dataset = client.datasets.get("churn-train@1", project="default")
    stored = client.backend.monitors.get_reference(f"dataset:{dataset.digest}")
    assert stored is not None and client.backend.blobs.exists(stored[0])
    fresh = monitoring(client, DRIFT)
    assert set(fresh.reference(fresh.monitors[0]).columns) == {"tenure", "calls", "spend"}


def test_a_model_without_training_data_is_refused_when_the_monitors_load(client: sy.Client) -> None:
    example = pd.DataFrame({"x": [0.0, 1.0]})
    client.models.log(LogisticRegression().fit(example, [0, 1]), "bare", input_example=example, project="default")
    monitors = Monitoring(client, parse_monitors([{"name": "m", "model": "bare@1", "window": "1h", "rules": [DRIFT]}]))
    with pytest.raises(sy.InvalidInput, match=r"bare@1 records no training dataset.*train_data="):
        monitors.check()


def test_an_unknown_model_is_refused_naming_the_monitor(client: sy.Client, churn: LogisticRegression) -> None:
    monitors = Monitoring(client, parse_monitors([{"name": "m", "model": "chrun@1", "window": "1h", "rules": [DRIFT]}]))
    with pytest.raises(sy.NotFound, match="Monitor 'm'"):
        monitors.check()


def test_a_rule_on_a_column_the_model_does_not_take_is_refused(client: sy.Client, churn: LogisticRegression) -> None:
    monitors = monitoring(client, {**DRIFT, "columns": ["tenure", "plan"]})
    with pytest.raises(sy.InvalidInput, match="rule 'feature_drift': churn@1 has no input 'plan'"):
        monitors.check()
