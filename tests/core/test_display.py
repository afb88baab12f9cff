"""Core entities in a notebook: one-line reprs, HTML that parses, escapes every user string, and says what matters."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

import shipyard as sy
from shipyard.core import _display
from shipyard.core._html import Markup, esc, isolated_frame, table
from shipyard.core._svg import numeric_bins, sparkline
from shipyard.core.entities import DatasetVersion, ModelVersion, RunPage, RunRecord, RunStatus
from tests._html_helpers import TRICKY, XSS, XSS_IMG, parse, table_rows

T0 = 1_795_418_399_000  # 2026-11-21 04:39:59 UTC


def run(name: str = XSS, *, status: RunStatus = RunStatus.CRASHED, **fields: object) -> RunRecord:
    values: dict[str, object] = {
        "id": "0190abcdef0123456789abcdef012345",
        "project": "churn",
        "name": name,
        "status": status,
        "start_time": T0,
        "end_time": None,
        "params": {"lr": "0.1", "note": TRICKY},
        "metrics": {"auc": 0.9123, "loss": math.nan},
        "tags": {"team": XSS_IMG},
    }
    return RunRecord(**{**values, **fields})  # type: ignore[arg-type]


def model(**fields: object) -> ModelVersion:
    values: dict[str, object] = {
        "project": "churn",
        "name": "churn",
        "version": 3,
        "flavor": "sklearn",
        "artifact_digest": "sha256:" + "ab" * 32,
        "unsafe_format": False,
        "signature": {"inputs": [{"name": "<b>x</b>", "type": "float", "nullable": True}]},
        "package": {},
        "run_id": "0190abcdef0123456789abcdef012345",
        "description": TRICKY,
        "status": "active",
        "created_at": T0,
        "created_by": "ana",
        "aliases": ("champion",),
        "datasets": (("train", "churn-train@2"),),
        "parents": ("churn@2",),
        "gate_override": XSS,
    }
    return ModelVersion(**{**values, **fields})  # type: ignore[arg-type]


def assert_escaped(html: str) -> None:
    """No user string reaches the markup as markup: the raw payloads never appear, only their escaped forms."""
    for raw in (XSS, XSS_IMG, TRICKY, "<b>x</b>", "<script"):
        assert raw not in html


# ---------------------------------------------------------------------------------------------- runs


def test_a_run_renders_its_facts_and_escapes_its_name_params_and_tags() -> None:
    html = run()._repr_html_()
    assert_escaped(html)
    doc = parse(html)
    assert doc.find("div", "sy-title").text() == f"Run {XSS}"
    assert doc.find("span", "sy-fail").text() == "crashed" and "heartbeat stopped" in doc.text()
    params, metrics, tags = doc.find_all("table")
    assert table_rows(params)[1] == [["lr", "0.1"], ["note", TRICKY]]
    assert table_rows(metrics)[1] == [["auc", "0.9123"], ["loss", "—"]]
    assert table_rows(tags)[1] == [["team", XSS_IMG]]


def test_a_run_repr_is_one_line_of_key_facts_and_equality_is_unchanged() -> None:
    record = run("line one\nline two", status=RunStatus.FINISHED, end_time=T0 + 12_000)
    text = repr(record)
    assert "\n" not in text and text.startswith("<RunRecord 'line one\\nline two' 0190abcdef")
    assert "finished" in text and "(12 s)" in text and "lr=0.1" in text and "auc=0.9123" in text
    assert record == dataclasses.replace(record) and record != dataclasses.replace(record, name="other")


def test_a_repr_names_at_most_four_values_of_each_kind() -> None:
    text = repr(run(params={f"p{i}": str(i) for i in range(9)}))
    assert "p3=3" in text and "p4" not in text and "(+5 more)" in text


# ---------------------------------------------------------------------------------------------- pages


def page(count: int) -> RunPage:
    runs = [
        run(f"run {i}", status=RunStatus.FINISHED, params={"lr": str(i)} if i % 2 else {}, metrics={"auc": i / 100})
        for i in range(count)
    ]
    return RunPage(runs, next_page_token="tok" if count > 50 else None)


def test_search_results_are_a_table_with_a_column_per_param_and_metric() -> None:
    results = page(3)
    head, rows = table_rows(parse(results._repr_html_()).find("table"))
    assert head == ["run_id", "name", "status", "start_time", "params.lr", "metrics.auc"]
    assert [row[1:3] + row[4:] for row in rows] == [
        ["run 0", "finished", "—", "0"],
        ["run 1", "finished", "1", "0.01"],
        ["run 2", "finished", "—", "0.02"],
    ]


def test_long_results_show_fifty_rows_and_count_the_rest() -> None:
    doc = parse(page(60)._repr_html_())
    assert len(table_rows(doc.find("table"))[1]) == _display.MAX_ROWS
    note = doc.find("p", "sy-note").text()
    assert "… 10 more runs" in note and "page_token='tok'" in note


def test_to_pandas_has_the_table_columns_and_every_row() -> None:
    results = page(60)
    frame = results.to_pandas()
    head, _rows = table_rows(parse(results._repr_html_()).find("table"))
    assert list(frame.columns) == head and len(frame) == 60
    assert frame["params.lr"].tolist()[:3] == [None, "1", None]
    assert frame["metrics.auc"].tolist()[:2] == [0.0, 0.01]
    assert isinstance(frame["start_time"].dtype, pd.DatetimeTZDtype) and str(frame["start_time"].dt.tz) == "UTC"
    assert frame["start_time"][0] == pd.Timestamp(T0, unit="ms", tz="UTC")


def test_to_pandas_of_no_runs_has_the_fixed_columns() -> None:
    empty = RunPage([], next_page_token=None)
    assert list(empty.to_pandas().columns) == ["run_id", "name", "status", "start_time"]
    assert "No runs match" in empty._repr_html_() and repr(empty) == "<RunPage of 0 runs>"


def test_to_pandas_without_pandas_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(sy.MissingDependency, match="pip install pandas"):
        page(2).to_pandas()


def test_a_page_repr_is_one_line_and_a_page_still_compares_as_a_list() -> None:
    results = page(60)
    text = repr(results)
    assert "\n" not in text and text.startswith("<RunPage of 60 runs: 'run 0' finished") and "(+57 more)" in text
    assert results == list(results)


# ---------------------------------------------------------------------------------------------- datasets


@pytest.fixture
def dataset(tmp_path: Path) -> DatasetVersion:
    client = sy.Client(str(tmp_path / ".shipyard"), capture_environment=False, cwd=tmp_path)
    values = [float(i % 7) if i % 10 else None for i in range(200)]
    frame = pd.DataFrame({"<b>x</b>": values, "plan": ["basic", TRICKY] * 100})
    try:
        yield client.datasets.register("churn-train", frame, project="churn", description=XSS)
    finally:
        client.close()


def test_a_dataset_version_shows_its_schema_and_profile_with_a_histogram_per_column(dataset: DatasetVersion) -> None:
    html = dataset._repr_html_()
    assert_escaped(html)
    doc = parse(html)
    head, rows = table_rows(doc.find("table"))
    assert head[:5] == ["column", "type", "nullable", "nulls", "distinct"]
    assert [row[:4] for row in rows] == [
        ["<b>x</b>", "float", "yes", "20 (10.0%)"],
        ["plan", "string", "no", "0 (0.0%)"],
    ]
    sparks = doc.find_all("svg", "spark")
    assert len(sparks) == 2 and sparks[0].find_all("rect") and TRICKY in sparks[1].text()
    assert "sy.datasets.load('churn-train@1', project='churn')" in doc.text() and XSS in doc.text()


def test_a_dataset_repr_is_one_line(dataset: DatasetVersion) -> None:
    text = repr(dataset)
    assert text == f"<DatasetVersion 'churn-train'@1 {dataset.digest[:19]}… · 200 rows × 2 columns · project 'churn'>"


# ---------------------------------------------------------------------------------------------- models


def test_a_model_version_shows_aliases_lineage_and_where_to_find_its_verdict() -> None:
    html = model()._repr_html_()
    assert_escaped(html)
    doc = parse(html)
    facts, lineage = doc.find_all("dl")
    assert "champion" in facts.text() and "sha256:" + "ab" * 32 in facts.text() and TRICKY in facts.text()
    labels = [dt.text() for dt in lineage.find_all("dt")]
    assert labels == ["Training run", "Data (train)", "Derived from", "Gate overridden"]
    assert "churn-train@2" in lineage.text() and XSS in lineage.text()
    hint = doc.find("p", "sy-note").text()
    assert "sy.lineage('churn@3', project='churn')" in hint and "sy.gate.latest('churn@3', project='churn')" in hint


def test_a_model_repr_is_one_line_and_flags_an_unsafe_format() -> None:
    text = repr(model(unsafe_format=True, aliases=("champion", "a\nb")))
    assert "\n" not in text and text.startswith("<ModelVersion 'churn'@3 sklearn sha256:abababababab… active")
    assert "unsafe format" in text and "aliases champion, a b" in text and "gate overridden" in text
    assert model() == model() and model() != model(version=4)


# ---------------------------------------------------------------------------------------------- the toolkit


def test_escaping_is_the_default_and_markup_passes_as_is() -> None:
    html = table(["<th>"], [[TRICKY, Markup("<em>kept</em>")]])
    assert "<th>&lt;th&gt;</th>" in html and "&amp;&quot;&#x27;&lt;&gt;" in html and "<em>kept</em>" in html
    assert esc(esc(TRICKY)) == esc(TRICKY)


def test_a_framed_document_reads_back_byte_for_byte() -> None:
    document = '<!DOCTYPE html>\n<p title="a &amp; b">it\'s &lt;fine&gt; &#x27; é\n</p>'
    frame = parse(isolated_frame(document, title=TRICKY)).find("iframe")
    assert frame.attrs["srcdoc"] == document and frame.attrs["title"] == TRICKY
    assert frame.attrs["sandbox"] == "allow-same-origin"  # no allow-scripts


def test_a_sparkline_draws_finite_counts_and_nothing_otherwise() -> None:
    svg = parse(sparkline([1, 3, 0], labels=["a", "b", "c"], reference=[2, 2, 2]))
    assert len(svg.find_all("rect")) == 3 and svg.find_all("polyline") and "b: 3" in svg.text()
    assert sparkline([]) == sparkline([1, math.nan]) == sparkline([1, -1]) == ""


def test_numeric_bins_are_told_from_categories() -> None:
    assert numeric_bins(["< 0", "[0, 1.5)", "[1.5, 3)", "> 3"])
    assert not numeric_bins(["< 0", "2", "[1.5, 3)", "> 3"]) and not numeric_bins(["< a", "[a, b)", "> b"])
