"""Drift results and monitor windows in a notebook: per-column drift tables with histograms, one-line reprs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

import shipyard as sy
from shipyard.monitoring.config import parse_monitors
from shipyard.monitoring.reference import Reference
from shipyard.monitoring.service import Monitoring, MonitorOutcome
from shipyard.monitoring.statistics import DriftReport, compute_drift
from shipyard.monitoring.windows import Window
from tests._html_helpers import TRICKY, fake_notebook, parse, table_rows
from tests.monitoring.conftest import MINUTE, T0, LogRows

COLUMN = "<b>x</b>"


def table(rows: int, *, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    plans = rng.choice(["basic", TRICKY], rows, p=[0.7 - shift / 10, 0.3 + shift / 10])
    return pa.table({COLUMN: rng.normal(shift, 1.0, rows), "plan": plans})


@pytest.fixture(scope="module")
def report() -> DriftReport:
    """The numeric column moved by one standard deviation; the categorical one barely."""
    return compute_drift(Reference.build(table(3_000, seed=0)), table(2_000, seed=1, shift=1.0))


@pytest.fixture
def outcome(client: sy.Client, log_rows: LogRows) -> MonitorOutcome:
    """Three windows of one monitor: calm, drifted (tenure shifted), too thin to judge."""
    [spec] = parse_monitors([{"name": "drift", "model": "churn@live", "window": "1m", "min_rows": 200, "rules": [
        {"kind": "feature_drift"}, {"kind": "data_quality", "max_missing_share": 0.1}]}])  # fmt: skip
    log_rows(0, 2_000)
    log_rows(1, 2_000, shift=2.0)
    log_rows(2, 50)
    [found] = Monitoring(client, [spec]).run(now_ms=T0 + 3 * MINUTE)
    return found


def test_a_drift_report_is_a_table_of_columns_with_statistic_threshold_and_outcome(report: DriftReport) -> None:
    html = report._repr_html_()
    assert "<b>x</b>" not in html and TRICKY not in html
    doc = parse(html)
    head, rows = table_rows(doc.find("table"))
    assert head[:5] == ["column", "kind", "statistic", "threshold", "outcome"]
    numeric, plan = rows
    assert numeric[:2] == [COLUMN, "numeric"] and numeric[2].startswith("wasserstein ") and numeric[4] == "drift"
    assert plan[:2] == ["plan", "categorical"] and plan[3] == "0.1"
    assert "1 of 2 columns drifted" in doc.find("dl").text()


def test_each_column_shows_the_reference_against_the_window_and_drifted_ones_get_a_chart(report: DriftReport) -> None:
    doc = parse(report._repr_html_())
    sparks = doc.find_all("svg", "spark")
    assert len(sparks) == 2 and all(s.find_all("polyline") for s in sparks)  # the reference's outline
    assert TRICKY in sparks[1].text()  # a category's name, in its bar's title
    [chart] = [s for s in doc.find_all("svg", "chart") if "spark" not in s.attrs["class"]]  # the drifted column
    assert chart.attrs["aria-label"].startswith(f"{COLUMN}: the window's counts")


def test_a_column_displays_on_its_own(report: DriftReport) -> None:
    column = report.columns[COLUMN]
    doc = parse(column._repr_html_())
    assert doc.find("div", "sy-title").text() == f"Drift of {COLUMN}" and doc.find("span", "sy-fail").text() == "drift"
    assert repr(column).startswith(f"<ColumnDrift '{COLUMN}' drift · wasserstein ")


def test_drift_reprs_are_one_line_and_equality_is_unchanged(report: DriftReport) -> None:
    assert repr(report) == f"<DriftReport drift · 1 of 2 columns drifted: '{COLUMN}' · 2,000 rows>"
    assert report == dataclasses.replace(report) and report != dataclasses.replace(report, rows=1)


def test_in_a_notebook_a_monitor_draws_its_windows_as_it_judges_them(
    outcome: MonitorOutcome, client: sy.Client, log_rows: LogRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = fake_notebook(monkeypatch)
    log_rows(3, 300)
    [spec] = parse_monitors(
        [{"name": "drift", "model": "churn@live", "window": "1m", "rules": [{"kind": "feature_drift"}]}]
    )
    Monitoring(client, [spec]).run(now_ms=T0 + 4 * MINUTE)
    assert "monitor drift" in notebook.final().text() and "1 of 1 windows" in notebook.final().text()


def test_a_monitor_outcome_lists_its_windows_and_draws_the_latest_in_full(outcome: MonitorOutcome) -> None:
    doc = parse(outcome._repr_html_())
    windows = doc.find("table")
    assert [row[0] for row in table_rows(windows)[1]] == ["pass", "fail", "insufficient_data"]
    assert table_rows(windows)[1][1][3] == "feature_drift"  # the drifted window fired the rule's alert
    assert "#1" in doc.find("dl").text()
    latest_rules = doc.find_all("table")[1]
    assert [row[:3] for row in table_rows(latest_rules)[1]] == [
        ["feature_drift", "feature_drift", "insufficient_data"],
        ["data_quality", "data_quality", "insufficient_data"],
    ]


def test_a_window_draws_a_drift_table_per_rule(outcome: MonitorOutcome) -> None:
    drifted = outcome.windows[1]
    doc = parse(drifted._repr_html_())
    rules, feature_drift, quality = doc.find_all("table")
    assert table_rows(rules)[1][0][2:4] == ["fail", "yes"]
    assert [row[0] for row in table_rows(feature_drift)[1]] == ["tenure", "calls", "spend"]
    assert table_rows(feature_drift)[1][0][4] == "drift" and table_rows(quality)[1][0][6] == "0.0%"
    assert [h.text() for h in doc.find_all("div", "sy-sub")[:2]] == ["Drift: rule feature_drift", "tenure"]


def test_window_reprs_are_one_line(outcome: MonitorOutcome) -> None:
    assert repr(outcome.windows[1]) == (
        "<WindowOutcome fail 2023-11-14 22:15 UTC – 22:16 UTC · 2,000 rows · 2 rules · fired feature_drift>"
    )
    assert repr(outcome) == (
        "<MonitorOutcome 'drift' on churn@live · 3 new windows: 1 pass, 1 fail, 1 insufficient_data · "
        "1 alerts opened, 0 resolved>"
    )
    assert outcome.windows[1] == dataclasses.replace(outcome.windows[1], drift={})  # drift is not compared


def test_a_window_of_the_prediction_log_shows_its_first_rows() -> None:
    rows = pa.table({"at": [T0 + i for i in range(25)], "version": [1] * 20 + [2] * 5, "note": [TRICKY] * 25})
    window = Window(T0, T0 + MINUTE, rows)
    html = window._repr_html_()
    assert TRICKY not in html
    head, shown = table_rows(parse(html).find("table"))
    assert head == ["at", "version", "note"] and len(shown) == 10 and shown[0][2] == TRICKY
    assert "… 15 more rows" in parse(html).text()
    assert repr(window) == "<Window 2023-11-14 22:14 UTC – 22:15 UTC · 25 rows · versions 1, 2>"
