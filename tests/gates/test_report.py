"""The gate report: one offline HTML document, a pull-request comment, one terminal line per check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from shipyard.core._svg import format_number, nice_ticks
from shipyard.gates.report import render_html, render_markdown, render_text_lines

XSS = "<script>alert(1)</script>"


def sample_verdict() -> dict[str, Any]:
    """A failing verdict with every kind of evidence the report draws (also used for the visual check)."""
    slices = [
        {"slice": f"region={r}", "rows": n, "value": v, "threshold": 0.6, "passed": v >= 0.6}
        for r, n, v in [("eu", 1200, 0.71), ("us", 4100, 0.78), ("apac", 310, 0.54), ("latam", 95, 0.62)]
    ]
    check = {"kind": "min_metric", "severity": "error", "status": "pass", "duration_ms": 4.2}
    return {
        "id": "v-01J9",
        "passed": False,
        "created_at": 1795418399936,
        "shipyard_version": "0.1.0",
        "model": {"name": "churn", "version": 7, "digest": "sha256:" + "ab" * 32, "flavor": "sklearn", "run_id": "r1"},
        "data": {"name": "churn-eval", "version": 3, "digest": "sha256:" + "cd" * 32, "rows": 100000},
        "policy": {"digest": "sha256:" + "ef" * 32, "source": "/repo/shipyard.toml"},
        "champion": {"name": "churn", "version": 5},
        "report_command": "shipyard gate report v-01J9 --html report.html",
        "checks": [
            {
                **check,
                "name": "min_metric:roc_auc",
                "measured": {"roc_auc": 0.83},
                "threshold": {"min": 0.8},
                "message": "roc_auc 0.830 ≥ 0.800",
            },
            {
                **check,
                "name": "no_regression:roc_auc",
                "kind": "no_regression",
                "status": "fail",
                "measured": {"difference": -0.012},
                "threshold": {"max_drop": 0.005},
                "message": "roc_auc dropped by 0.012 (95% CI −0.019 to −0.004) against churn@5",
                "evidence": {"interval": {"low": -0.019, "high": -0.004, "confidence": 0.95, "difference": -0.012}},
            },
            {
                **check,
                "name": "slice_floor:roc_auc",
                "kind": "slice_floor",
                "status": "fail",
                "measured": {"worst": 0.54},
                "threshold": {"min": 0.6},
                "message": "1 of 4 slices below 0.6",
                "evidence": {"slices": slices, "table": slices},
            },
            {
                **check,
                "name": "drift:tenure",
                "kind": "drift",
                "severity": "warn",
                "status": "warn",
                "measured": {"psi": 0.13},
                "threshold": {"max": 0.1},
                "message": "PSI 0.13 > 0.1",
                "evidence": {
                    "histogram": {
                        "edges": [0, 6, 12, 24, 48, 96],
                        "counts": [210, 340, 520, 300, 90],
                        "reference_counts": [180, 360, 560, 290, 70],
                    },
                    "notes": ["binned"],
                },
            },
            {
                **check,
                "name": XSS,
                "kind": "custom",
                "status": "error",
                "message": f"could not run: {XSS}",
                "measured": {"value": float("nan")},
                "threshold": {"max": None},
            },
        ],
    }


def svg_blocks(html: str) -> list[ET.Element]:
    return [ET.fromstring(block) for block in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def test_html_is_one_offline_well_formed_document() -> None:
    html = render_html(sample_verdict())
    root = ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))  # the markup is XHTML-compatible
    assert root.tag == "html"
    assert html.count("<html") == 1
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"""(src|href)=["'](?!#)""", html)  # only in-page anchors


def test_html_escapes_every_user_string() -> None:
    html = render_html(sample_verdict())
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_banner_says_fail_and_lists_failed_checks_first() -> None:
    html = render_html(sample_verdict())
    assert re.search(r'class="banner failed" role="status">[^<]*Gate FAILED', html)
    table = html[html.index("<table>") :]
    assert table.index("no_regression:roc_auc") < table.index("min_metric:roc_auc")
    assert "Gate PASSED" in render_html({**sample_verdict(), "passed": True})


def test_html_draws_interval_bars_and_histogram_from_evidence() -> None:
    svgs = svg_blocks(render_html(sample_verdict()))
    titles = [svg.findtext("title") or "" for svg in svgs]
    assert len(svgs) == 3
    assert "95% interval of the difference" in titles[0]
    assert titles[1] == "1 of 4 slices below their threshold"
    assert "reference" in titles[2]
    assert all(svg.get("viewBox") and svg.get("width") and svg.get("height") for svg in svgs)


def test_html_survives_a_verdict_with_only_checks() -> None:
    html = render_html({"checks": [{"name": "x", "status": "pass", "evidence": {"histogram": {"edges": [1]}}}]})
    assert "Gate PASSED" in html
    assert "Other evidence" in html  # evidence it cannot draw is shown as JSON


def test_markdown_has_header_counts_and_one_row_per_check() -> None:
    markdown = render_markdown(sample_verdict())
    lines = markdown.splitlines()
    assert (
        lines[0] == "❌ Gate **FAILED** for churn@7 on churn-eval@3 (2 of 5 checks failed, 1 could not run, 1 warning)"
    )
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| |", "| ---"))]
    assert len(rows) == 5
    assert rows[0].startswith("| ❌ fail")
    assert "<script>" not in re.sub(r"`[^`]*`", "", markdown)  # literal only inside a code span
    assert "Full report: `shipyard gate report v-01J9 --html report.html`" in markdown


def test_text_lines_one_plain_line_per_check() -> None:
    lines = render_text_lines({**sample_verdict(), "checks": [*sample_verdict()["checks"], {"name": "a\x1b[31mb"}]})
    assert len(lines) == 6
    assert lines[0].startswith("no_regression:roc_auc")
    assert "FAIL" in lines[0]
    assert "roc_auc=0.83" in lines[-1]
    assert all("\x1b" not in line for line in lines)


def test_numbers_are_formatted_for_people() -> None:
    values = [0.83, 0.0001234, 12345.6, 100000, float("nan"), None, 1 / 3]
    assert [format_number(v) for v in values] == ["0.83", "0.0001234", "12,346", "100,000", "—", "—", "0.3333"]
    assert nice_ticks(-0.019, 0.0) == [-0.02, -0.015, -0.01, -0.005, 0.0]
