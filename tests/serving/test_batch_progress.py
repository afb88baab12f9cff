"""Batch scoring from Python shows its rows' progress in a notebook; a caller's own callback takes precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard.serving.batch import predict_file
from tests._html_helpers import fake_notebook
from tests.serving.test_batch import ROWS, big, client, frame, model, recorder  # noqa: F401 (fixtures)


def test_scoring_in_a_notebook_draws_rows_scored_of_rows(
    client: shipyard.Client,  # noqa: F811
    big: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notebook = fake_notebook(monkeypatch)
    predict_file(client, "churn", big, tmp_path / "out.parquet", chunk_rows=3000, project="p")
    final = notebook.final()
    assert "scoring with churn@1" in final.text() and f"{ROWS:,} of {ROWS:,} rows" in final.text()


def test_a_callers_callback_replaces_the_bar(
    client: shipyard.Client,  # noqa: F811
    big: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notebook = fake_notebook(monkeypatch)
    seen, record = recorder()
    predict_file(client, "churn", big, tmp_path / "out.parquet", chunk_rows=5000, project="p", progress=record)
    assert seen == [(0, ROWS), (5000, ROWS), (ROWS, ROWS)]
    assert notebook.outputs == []
