"""Monitor reports: one offline HTML file of a monitor's windows, columns and alerts, built from stored windows."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from html import escape

import pytest

import shipyard as sy
from shipyard.monitoring.config import MonitorSpec, parse_monitors
from shipyard.monitoring.report import build_report, render_html
from shipyard.monitoring.service import Monitoring
from shipyard.store.monitors import Alert, WindowRecord
from tests.monitoring.conftest import MINUTE, T0, LogRows

Stored = tuple[MonitorSpec, list[WindowRecord], list[Alert]]


@pytest.fixture
def stored(client: sy.Client, log_rows: LogRows) -> Stored:
    """A calm window, two drifted ones (2,000 rows: Wasserstein; 500: KS), a thin one; one open alert."""
    table = {"name": "drift", "model": "churn@live", "window": "1m", "min_rows": 200}
    rules = [{"kind": "feature_drift"}, {"kind": "data_quality", "max_missing_share": 0.1}]
    [spec] = parse_monitors([{**table, "rules": rules}])
    log_rows(0, 2_000)
    log_rows(1, 2_000, shift=2.0)
    log_rows(2, 500, shift=2.0)
    log_rows(3, 50)
    Monitoring(client, [spec]).run(now_ms=T0 + 4 * MINUTE)
    monitors = client.backend.monitors
    return spec, monitors.windows("default", "drift"), monitors.alerts("default", monitor="drift")


def parse(html: str) -> ET.Element:
    return ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))


def test_every_column_has_one_drift_chart_and_a_histogram(stored: Stored) -> None:
    html = render_html(*stored)
    sections = parse(html).findall(".//section[@class]")
    assert [s.find("h3").text for s in sections if "column" in s.get("class", "")] == ["tenure", "calls", "spend"]
    assert html.count('class="chart drift"') == 3
    assert "Wasserstein distance" in html and "KS p-value (log scale; drift below the line)" in html


def test_drifted_windows_are_marked_in_the_strip_the_charts_and_the_table(stored: Stored) -> None:
    html = render_html(*stored)
    assert len(re.findall(r'<tr class="fail">', html)) == 2
    assert '<rect class="fail"' in html and '<rect class="insufficient_data"' in html
    tenure = html.split("<h3>tenure</h3>")[1].split("</section>")[0]
    assert tenure.count('<circle class="drift"') == 2 and tenure.count('<circle class="calm"') == 1


def test_the_header_counts_windows_and_the_alert_is_listed(stored: Stored) -> None:
    html = render_html(*stored)
    [alert] = stored[2]
    assert "4: 2 failed, 1 passed, 1 with insufficient data" in html
    assert "1 unresolved alert(s): feature_drift" in html
    row = html.split("<h2>Alerts</h2>")[1]
    assert f'<td class="num">{alert.id}</td>' in row and escape(alert.message) in row and "no webhook" in row


def test_the_report_is_well_formed_and_offline(stored: Stored) -> None:
    html = render_html(*stored)
    root = parse(html)
    assert len(root.findall(".//svg")) == 1 + 3 + 3  # the rules' strip, a chart and a histogram per column
    assert not re.search(r"(?:src|href)=|https?://|<script", html)


def test_a_column_name_is_escaped(stored: Stored) -> None:
    spec, windows, alerts = stored
    renamed = [
        dataclasses.replace(w, results=json.loads(json.dumps(w.results).replace('"tenure"', '"<b>ten</b>"')))
        for w in windows
    ]
    html = render_html(spec, renamed, alerts)
    assert "&lt;b&gt;ten&lt;/b&gt;" in html and "<b>" not in html
    parse(html)


def test_a_monitor_without_windows_says_so(stored: Stored) -> None:
    spec, _, _ = stored
    html = render_html(spec, [], [])
    assert "No window of this monitor has been evaluated yet" in html and 'class="chart' not in html
    parse(html)


def test_the_data_is_plain_json_with_one_point_per_window(stored: Stored) -> None:
    data = json.loads(json.dumps(build_report(*stored), allow_nan=False))
    tenure = data["columns"][0]
    assert (tenure["column"], tenure["rule"], tenure["kind"]) == ("tenure", "feature_drift", "numeric")
    assert [p["status"] for p in tenure["series"]] == ["no_drift", "drift", "drift", "insufficient_data"]
    assert [p["method"] for p in tenure["series"]] == ["wasserstein", "wasserstein", "ks", None]
    assert tenure["histogram"]["start_at"] == T0 + 2 * MINUTE
