"""Monitor configuration: the documented shape parses, and every mistake names its file, monitor, rule and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import shipyard as sy
from shipyard.monitoring.config import CanarySpec, find_monitor, load_monitors, parse_monitors

EXAMPLE = """
[[monitor]]
name = "churn-drift"
model = "churn@champion"
window = "1h"
[[monitor.rules]]
kind = "feature_drift"
threshold = 0.2
min_features = 3
for_windows = 2
[[monitor.rules]]
kind = "live_metric"
metric = "roc_auc"
min = 0.75
[monitor.on_alert]
webhook = "http://127.0.0.1:9000/hooks/ml"
retrain = "pipelines.py:training"
canary = { share = 0.1, min_requests = 500, max_drop = 0.01 }

[[monitor]]
name = "churn-rows"
model = "churn@3"
window_rows = 5000
[[monitor.rules]]
kind = "prediction_drift"
"""


def monitor(**changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": "m",
        "model": "churn@champion",
        "window": "1h",
        "rules": [{"kind": "feature_drift"}],
    }
    table.update(changes)
    return {k: v for k, v in table.items() if v is not None}


def test_the_documented_example_parses(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(EXAMPLE)
    drift, rows = load_monitors(tmp_path)
    assert (drift.name, drift.model_name, drift.window_seconds, drift.min_rows) == ("churn-drift", "churn", 3600, 100)
    assert [r.name for r in drift.rules] == ["feature_drift", "live_metric:roc_auc"]
    assert drift.rules[0].values["min_features"] == 3 and drift.rules[0].for_windows == 2
    assert drift.rules[0].values["method"] == "auto" and drift.rules[1].values["min_labels"] == 50
    assert drift.on_alert.canary == CanarySpec(0.1, 500, 0.01) and drift.on_alert.webhook_retries == 3
    assert (rows.window_rows, rows.window_seconds, rows.describe_window()) == (5000, None, "5,000 rows")
    assert drift.describe_window() == "1h" and find_monitor([drift, rows], "churn-rows") is rows


def test_no_file_or_no_table_means_no_monitors(tmp_path: Path) -> None:
    assert load_monitors(tmp_path) == []
    (tmp_path / "shipyard.toml").write_text("[gate]\n")
    assert load_monitors(tmp_path) == []
    with pytest.raises(sy.InvalidInput, match="No monitor file at"):
        load_monitors(tmp_path, tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (monitor(window=None), r"give window = \"1h\" .* or window_rows = 5000"),
        (monitor(window_rows=10), "one of them"),
        (monitor(window="soon"), "window must be a positive duration"),
        (monitor(model="churn"), "needs a version or an alias"),
        (monitor(rules=[]), r"at least one \[\[monitor.rules\]\]"),
        (monitor(rules=[{"kind": "feature_drfit"}]), "did you mean 'feature_drift'"),
        (monitor(rules=[{"kind": "feature_drift", "method": "kss"}]), "did you mean 'ks'"),
        (
            monitor(rules=[{"kind": "feature_drift", "treshold": 0.2}]),
            "unknown key 'treshold' .*did you mean 'threshold'",
        ),
        (monitor(rules=[{"kind": "feature_drift", "min_features": 0}]), "min_features must be at least 1"),
        (monitor(rules=[{"kind": "live_metric", "metric": "roc_auc"}]), "give min = … .* or max = …"),
        (monitor(rules=[{"kind": "live_metric", "metric": "rocauc", "min": 0.7}]), "Did you mean 'roc_auc'"),
        (monitor(rules=[{"kind": "data_quality"}]), "max_missing_share and/or max_out_of_domain_share"),
        (monitor(rules=[{"kind": "prediction_drift"}, {"kind": "prediction_drift"}]), "two rules are named"),
        (monitor(roles=["champion", "winner"]), "'winner' is not allowed"),
        (monitor(on_alert={"webhook": "ftp://x"}), "http:// or https:// URL"),
        (monitor(on_alert={"canary": {"share": 0.1}}), "canary and gate_data apply to a retrained model"),
        (monitor(on_alert={"retrain": "p.py:t", "canary": {"share": 0.9}}), "share must be at most 0.5"),
        (monitor(color="red"), "unknown key 'color'"),
    ],
)
def test_a_mistake_is_one_clear_error(table: dict[str, Any], message: str) -> None:
    with pytest.raises(sy.InvalidInput, match=message) as caught:
        parse_monitors([table], "shipyard.toml")
    assert str(caught.value).startswith("shipyard.toml: [[monitor]] #1 ('m')")


def test_names_are_unique_and_looked_up_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(sy.InvalidInput, match="two \\[\\[monitor\\]\\] tables are named 'm'"):
        parse_monitors([monitor(), monitor()])
    with pytest.raises(sy.InvalidInput, match="Did you mean 'churn-drift'"):
        find_monitor(parse_monitors([monitor(name="churn-drift")]), "churn-drfit")
    (tmp_path / "bad.toml").write_text("[[monitor]\n")
    with pytest.raises(sy.InvalidInput, match="is not valid TOML"):
        load_monitors(tmp_path, tmp_path / "bad.toml")


def test_a_file_that_is_not_utf8_is_refused_saying_to_save_it_as_utf8(tmp_path: Path) -> None:
    latin1 = EXAMPLE.replace('name = "churn-rows"', 'name = "churn-rows"  # café').encode("latin-1")
    (tmp_path / "monitors.toml").write_bytes(latin1)
    (tmp_path / "shipyard.toml").write_bytes(latin1)
    for given in (tmp_path / "monitors.toml", None):  # --config, or the project's shipyard.toml
        with pytest.raises(sy.InvalidInput, match=r"is not valid UTF-8 TOML: .*Save it as UTF-8") as caught:
            load_monitors(tmp_path, given)
        assert str(caught.value).startswith(str(given or tmp_path / "shipyard.toml"))


def test_a_relative_retrain_pipeline_is_read_beside_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(EXAMPLE)
    [drift, _rows] = load_monitors(tmp_path)
    assert drift.on_alert.retrain == f"{tmp_path / 'pipelines.py'}:training"
    [parsed] = parse_monitors([monitor(on_alert={"retrain": "/srv/p.py:training"})], str(tmp_path / "shipyard.toml"))
    assert parsed.on_alert.retrain == "/srv/p.py:training"
