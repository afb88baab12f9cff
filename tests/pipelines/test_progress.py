"""A pipeline run in a notebook shows its steps' progress, failed and skipped steps counted as done."""

from __future__ import annotations

import pytest

import shipyard
from tests._html_helpers import fake_notebook
from tests.pipelines.conftest import WritePipeline
from tests.pipelines.test_runner import BRANCHES


def test_a_pipeline_run_draws_its_steps_in_a_notebook(
    client: shipyard.Client, write_pipeline: WritePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = fake_notebook(monkeypatch)
    run = write_pipeline(BRANCHES).run(client=client)
    assert [s.node for s in run.failed_steps] == ["broken"]
    [shown] = notebook.outputs
    final = notebook.final()
    assert "pipeline branches" in final.text() and "4 of 4 steps" in final.text()
    assert shown[0] != shown[-1]  # drawn while it ran, then updated
