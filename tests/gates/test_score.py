"""``gates.score`` and ``shipyard gate score``: the ML Test Score of a policy, monitors and the platform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from shipyard.core.errors import InvalidInput
from shipyard.gates.checks import BUILTIN
from shipyard.gates.policy import Policy, parse_policy
from shipyard.gates.score import OUTSIDE_RUBRIC, PLATFORM, RUBRIC, RULE_NOTES, SECTIONS, interpret, score
from shipyard.monitoring.config import RULES, MonitorSpec, load_monitors, parse_monitors

PARAMS: dict[str, dict[str, Any]] = {  # the fewest parameters each kind needs to be valid
    "min_metric": {"metric": "roc_auc", "threshold": 0.8},
    "beats_baseline": {"metric": "roc_auc"},
    "no_regression": {"metric": "roc_auc"},
    "slice_metric": {"by": ["region"], "metric": "recall", "min": 0.6},
    "fairness_gap": {"attribute": "gender", "max_gap": 0.1},
}


RULE_PARAMS: dict[str, dict[str, Any]] = {  # the fewest keys each monitor rule kind needs to be valid
    "data_quality": {"max_out_of_domain_share": 0.05},
    "live_metric": {"metric": "roc_auc", "min": 0.75},
}


def policy(*kinds: str, **extra: Any) -> Policy:
    return parse_policy({"checks": [{"kind": kind, **PARAMS.get(kind, {}), **extra} for kind in kinds]})


def monitor(*rules: str, **on_alert: Any) -> list[MonitorSpec]:
    table = {"name": "churn-watch", "model": "churn@champion", "window": "1h", "on_alert": on_alert}
    return parse_monitors([{**table, "rules": [{"kind": kind, **RULE_PARAMS.get(kind, {})} for kind in rules]}])


def test_the_rubric_has_four_sections_of_seven_tests() -> None:
    assert len({item.id for item in RUBRIC}) == 28
    assert all(sum(item.section == section for item in RUBRIC) == 7 for section in SECTIONS)
    assert {name for item in RUBRIC for name in item.platform} == set(PLATFORM)


def test_every_built_in_kind_is_scored_or_explained() -> None:
    scoring = {by.kind for item in RUBRIC for by in item.kinds}
    assert set(BUILTIN) - scoring - set(OUTSIDE_RUBRIC) == set()
    assert scoring.isdisjoint(OUTSIDE_RUBRIC)


def test_every_monitor_rule_kind_is_scored_or_explained() -> None:
    scoring = {kind for item in RUBRIC for by in item.rules for kind in by.rules}
    assert set(RULES) <= scoring
    assert set(RULE_NOTES) <= scoring


def test_with_no_checks_only_the_platform_earns_points() -> None:
    report = score(Policy())
    assert report.sections == {"data": 1.0, "model": 0.0, "infra": 3.0, "monitor": 0.0}
    assert [s.item.id for s in report.items if s.points] == ["data-1", "infra-1", "infra-5", "infra-7"]
    assert report.final == 0.0
    assert report.interpretation == interpret(0.0)


def test_checks_raise_the_section_of_the_tests_they_automate() -> None:
    report = score(policy("beats_baseline", "slice_metric", "fairness_gap"))
    assert report.sections == {"data": 1.0, "model": 3.0, "infra": 4.0, "monitor": 0.0}  # infra-4: quality checked
    assert next(s for s in report.items if s.item.id == "model-6").checks == ("slice_metric:recall:region",)


def test_the_final_score_is_the_lowest_section() -> None:
    report = score(policy("min_metric", "no_nan_inf", "beats_baseline", "no_regression", "lineage_complete"))
    assert report.sections == {"data": 1.0, "model": 3.0, "infra": 4.0, "monitor": 1.0}
    assert report.final == 1.0
    assert report.interpretation == interpret(1.0) != interpret(0.0)


def test_model_code_counts_as_committed_only_when_the_tree_must_be_clean() -> None:
    lax = score(policy("lineage_complete", require_clean_tree=False))
    assert next(s for s in lax.items if s.item.id == "model-1").status == "uncovered"
    assert score(policy("lineage_complete")).sections["model"] == 1.0


def test_nothing_is_planned_what_needs_configuration_says_what_to_add() -> None:
    report = score(Policy())
    assert {s.status for s in report.items} == {"automated", "uncovered"}
    assert not any("planned" in json.dumps(s.to_dict()) for s in report.items)
    assert all(s.item.kinds or s.item.rules or s.item.hint for s in report.uncovered)
    for test in ("infra-3", "infra-6", "monitor-2", "monitor-3", "monitor-4", "monitor-7"):
        assert next(s for s in report.items if s.item.id == test).item.rules, test


def test_monitor_rules_earn_the_tests_they_automate() -> None:
    monitors = monitor("feature_drift", "data_quality", "live_metric", retrain="pipelines.py:training", canary={})
    report = score(policy("min_metric", "no_nan_inf"), monitors=monitors)
    # the checks earn infra-4 and monitor-5; the monitor infra-3, infra-6, monitor-2, -3, -4 and -7
    assert report.sections == {"data": 1.0, "model": 0.0, "infra": 6.0, "monitor": 5.0}
    assert {(r.rule, r.earns) for r in report.rules} == {
        ("feature_drift", ("monitor-3", "monitor-4")),
        ("data_quality", ("monitor-2",)),
        ("live_metric:roc_auc", ("monitor-4", "monitor-7")),
        ("on_alert.retrain", ("infra-3", "monitor-4")),
        ("on_alert.canary", ("infra-6",)),
    }
    assert next(s for s in report.items if s.item.id == "monitor-2").monitors == ("churn-watch/data_quality",)


def test_a_monitor_without_retraining_earns_no_loop_tests() -> None:
    report = score(Policy(), monitors=monitor("feature_drift", "prediction_drift"))
    assert report.sections == {"data": 1.0, "model": 0.0, "infra": 3.0, "monitor": 1.0}  # monitor-3 only
    [drift] = [r for r in report.rules if r.kind == "prediction_drift"]
    assert (drift.earns, drift.reason) == ((), RULE_NOTES["prediction_drift"])


def test_prediction_drift_notices_a_stale_model_when_alerts_retrain() -> None:
    report = score(Policy(), monitors=monitor("prediction_drift", retrain="pipelines.py:training"))
    assert [s.item.id for s in report.items if s.monitors] == ["infra-3", "monitor-4"]


def test_a_broken_monitor_table_is_invalid_input(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(
        '[[monitor]]\nname = "w"\nmodel = "churn@champion"\nwindow = "1h"\n[[monitor.rules]]\nkind = "feature_drfit"\n'
    )
    with pytest.raises(InvalidInput, match="did you mean 'feature_drift'"):
        score(Policy(), monitors=load_monitors(tmp_path))


def test_checks_outside_the_rubric_are_reported_not_scored() -> None:
    report = score(policy("split_overlap"))
    assert report.sections == score(Policy()).sections
    assert [(u.name, u.reason) for u in report.unscored] == [("split_overlap", OUTSIDE_RUBRIC["split_overlap"])]


@pytest.mark.parametrize(
    ("final", "band"), [(0.0, 0), (0.5, 1), (1.0, 1), (1.5, 2), (3.0, 3), (4.0, 4), (5.0, 4), (6.0, 5)]
)
def test_the_interpretation_follows_the_papers_bands(final: float, band: int) -> None:
    from shipyard.gates.score import BANDS

    assert interpret(final) == BANDS[band][1]


def test_the_json_document() -> None:
    document = json.loads(json.dumps(score(policy("min_metric"), monitors=monitor("live_metric")).to_dict()))
    assert set(document) == {
        *("policy", "tests", "sections", "final", "interpretation", "uncovered", "unscored_checks", "platform"),
        "monitor_rules",
    }
    infra_4 = next(t for t in document["tests"] if t["id"] == "infra-4")
    assert infra_4["status"] == "automated"
    assert infra_4["covered_by"] == {"checks": ["min_metric:roc_auc"], "monitors": [], "platform": []}
    assert document["monitor_rules"] == [
        {
            "monitor": "churn-watch",
            "rule": "live_metric:roc_auc",
            "kind": "live_metric",
            "earns": ["monitor-7"],
            "reason": None,
        }
    ]
    uncovered = {t["id"]: t for t in document["uncovered"]}
    assert uncovered["model-5"]["kinds"] == ["beats_baseline"]
    assert uncovered["monitor-2"]["monitor_rules"] == [
        '[[monitor.rules]] kind = "data_quality", max_out_of_domain_share = 0.05'
    ]
    assert len(uncovered) == 28 - 6


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # the policy is the shipyard.toml found from here; no store is needed

    def run(policy_body: str, *args: str) -> Result:
        (tmp_path / "shipyard.toml").write_text(policy_body)
        env = {"COLUMNS": "200", "NO_COLOR": "1"}
        return CliRunner(env=env).invoke(app, ["--uri", str(tmp_path / ".shipyard"), "gate", "score", *args])

    return run


def test_the_command_prints_a_table_per_section_and_exits_0(cli) -> None:
    result = cli(
        '[gate]\n[[gate.checks]]\nkind = "beats_baseline"\nmetric = "roc_auc"\n[[gate.checks]]\nkind = "no_nan_inf"\n'
    )
    assert result.exit_code == 0, result.output
    for title in SECTIONS.values():
        assert title in result.stdout
    assert "model-5" in result.stdout and "ML Test Score 1 (the lowest section)" in result.stdout


def test_the_command_speaks_json(cli) -> None:
    result = cli("[gate]\n", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sections"] == {"data": 1.0, "model": 0.0, "infra": 3.0, "monitor": 0.0}


MONITOR = """
[[monitor]]
name = "churn-watch"
model = "churn@champion"
window = "1h"
[[monitor.rules]]
kind = "feature_drift"
[monitor.on_alert]
retrain = "pipelines.py:training"
"""


def test_the_command_shows_what_each_monitor_rule_earns(cli) -> None:
    result = cli("[gate]\n" + MONITOR)
    assert result.exit_code == 0, result.output
    assert "monitor rules: the tests they earn" in result.stdout
    assert "churn-watch/on_alert.retrain  infra-3, monitor-4" in result.stdout
    document = json.loads(cli("[gate]\n" + MONITOR, "--json").stdout)
    assert document["sections"] == {"data": 1.0, "model": 0.0, "infra": 4.0, "monitor": 2.0}


def test_without_monitors_the_command_says_what_to_add(cli) -> None:
    result = cli("[gate]\n")
    assert result.exit_code == 0, result.output
    assert "No [[monitor]] tables in" in result.stdout
    assert 'add to a [[monitor]]: [[monitor.rules]] kind = "data_quality"' in result.stdout


def test_a_broken_monitor_table_exits_2(cli) -> None:
    result = cli("[gate]\n" + MONITOR.replace("churn@champion", "churn"))
    assert result.exit_code == 2
    assert "[[monitor]] #1 ('churn-watch'): model = 'churn' needs a version or an alias" in result.stderr


def test_a_bad_policy_exits_2(cli) -> None:
    result = cli('[gate]\n[[gate.checks]]\nkind = "min_metrik"\n')
    assert result.exit_code == 2
    assert "did you mean 'min_metric'" in result.stderr
