"""A verdict in a notebook: a one-line repr, and a header above the stored report in an isolated frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard as sy
from shipyard.gates import Gate
from shipyard.gates.display import verdict_html
from shipyard.gates.report import render_html
from tests._html_helpers import fake_notebook, parse
from tests.gates.conftest import World
from tests.gates.test_report import XSS, sample_verdict


@pytest.fixture
def client(tmp_path: Path) -> Iterator[sy.Client]:
    """The embedded store only: what is displayed does not depend on the store (one store keeps this fast)."""
    made = sy.Client(str(tmp_path / ".shipyard"), capture_environment=False, cwd=tmp_path)
    yield made
    made.close()


def test_the_frame_holds_the_very_report_the_gate_stored(world: World) -> None:
    verdict = Gate(world.client).evaluate("churn@1", data="churn-eval")
    stored = Gate(world.client).report("churn@1")
    frame = parse(verdict._repr_html_()).find("iframe")
    assert frame.attrs["srcdoc"].encode() == stored.encode()
    assert frame.attrs["sandbox"] == "allow-same-origin"
    assert frame.attrs["title"] == "Gate report: churn@1 on churn-eval@1"


def test_the_header_says_passed_or_failed_and_whether_the_verdict_binds(world: World) -> None:
    good = Gate(world.client).evaluate("churn@1", data="churn-eval")
    poor = Gate(world.client).evaluate("churn@2", data="churn-eval")
    good_doc, poor_doc = parse(good._repr_html_()), parse(poor._repr_html_())
    assert good_doc.find("div", "sy-title").text() == "Gate PASSED: churn@1 on churn-eval@1"
    assert poor_doc.find("div", "sy-title").text() == "Gate FAILED: churn@2 on churn-eval@1"
    assert poor_doc.find("span", "sy-fail").text() == "failed" and "1 of 2 checks failed" in poor_doc.text()
    assert "binding" in good_doc.find("dl").text()


def test_a_preview_verdict_says_why_it_cannot_promote() -> None:
    doc = parse(verdict_html({**sample_verdict(), "binding": False, "preview_reason": "not the policy in force"}))
    assert doc.find("span", "sy-warn").text() == "preview" and "not the policy in force" in doc.text()


def test_user_strings_are_escaped_in_the_header_and_again_in_the_frame() -> None:
    verdict = {**sample_verdict(), "notes": [XSS]}
    html = verdict_html(verdict)
    assert "<script" not in html
    doc = parse(html)
    assert XSS in doc.find("dl").text()
    assert doc.find("iframe").attrs["srcdoc"] == render_html(verdict)


def test_a_verdict_repr_is_one_line(world: World) -> None:
    poor = Gate(world.client).evaluate("churn@2", data="churn-eval")
    text = repr(poor)
    assert "\n" not in text
    assert text == f"<Verdict FAILED churn@2 on churn-eval@1 · 1 of 2 checks failed · binding · id {poor.id}>"


def test_in_a_notebook_the_gate_draws_its_checks_as_they_run(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = fake_notebook(monkeypatch)
    Gate(world.client).evaluate("churn@1", data="churn-eval")
    [shown] = notebook.outputs
    assert "gate churn@1" in notebook.final().text() and "2 of 2 checks" in notebook.final().text()
    assert "min_metric:roc_auc" in parse(shown[0]).text()  # the check running, named while it runs
