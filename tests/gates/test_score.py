"""``gates.score`` and ``shipyard gate score``: the ML Test Score of a policy plus Shipyard's own automation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from shipyard.gates.checks import BUILTIN
from shipyard.gates.policy import Policy, parse_policy
from shipyard.gates.score import OUTSIDE_RUBRIC, PLATFORM, RUBRIC, SECTIONS, interpret, score

PARAMS: dict[str, dict[str, Any]] = {  # the fewest parameters each kind needs to be valid
    "min_metric": {"metric": "roc_auc", "threshold": 0.8},
    "beats_baseline": {"metric": "roc_auc"},
    "no_regression": {"metric": "roc_auc"},
    "slice_metric": {"by": ["region"], "metric": "recall", "min": 0.6},
    "fairness_gap": {"attribute": "gender", "max_gap": 0.1},
}


def policy(*kinds: str, **extra: Any) -> Policy:
    return parse_policy({"checks": [{"kind": kind, **PARAMS.get(kind, {}), **extra} for kind in kinds]})


def test_the_rubric_has_four_sections_of_seven_tests() -> None:
    assert len({item.id for item in RUBRIC}) == 28
    assert all(sum(item.section == section for item in RUBRIC) == 7 for section in SECTIONS)
    assert {name for item in RUBRIC for name in item.platform} == set(PLATFORM)


def test_every_built_in_kind_is_scored_or_explained() -> None:
    scoring = {by.kind for item in RUBRIC for by in item.kinds}
    assert set(BUILTIN) - scoring - set(OUTSIDE_RUBRIC) == set()
    assert scoring.isdisjoint(OUTSIDE_RUBRIC)


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


def test_planned_work_earns_nothing_yet() -> None:
    planned = [s for s in score(Policy()).items if s.status == "planned"]
    assert {s.item.id for s in planned} >= {"infra-3", "monitor-2", "monitor-3", "monitor-7"}
    assert all(s.points == 0 for s in planned)


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
    document = json.loads(json.dumps(score(policy("min_metric")).to_dict()))
    assert set(document) == {
        *("policy", "tests", "sections", "final", "interpretation", "uncovered", "unscored_checks", "platform")
    }
    infra_4 = next(t for t in document["tests"] if t["id"] == "infra-4")
    assert infra_4["status"] == "automated"
    assert infra_4["covered_by"] == {"checks": ["min_metric:roc_auc"], "platform": []}
    uncovered = {t["id"]: t for t in document["uncovered"]}
    assert uncovered["model-5"]["kinds"] == ["beats_baseline"]
    assert len(uncovered) == 28 - 5


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


def test_a_bad_policy_exits_2(cli) -> None:
    result = cli('[gate]\n[[gate.checks]]\nkind = "min_metrik"\n')
    assert result.exit_code == 2
    assert "did you mean 'min_metric'" in result.stderr
