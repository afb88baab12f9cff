"""Progress bars: drawn in place in a notebook, nothing at all anywhere else."""

from __future__ import annotations

import itertools

import pytest

from shipyard.core._progress import in_notebook, progress
from tests._html_helpers import fake_notebook


def ticking_clock(step: float) -> itertools.count[float]:
    return itertools.count(0.0, step)


def test_outside_a_notebook_a_tick_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert not in_notebook()
    with progress("gate churn@1", total=3, unit="checks") as tick:
        for done in range(4):
            tick(done, note="min_rows")
    assert capsys.readouterr() == ("", "")


def test_in_a_notebook_one_display_is_updated_in_place_and_ends_at_the_total(monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = fake_notebook(monkeypatch)
    assert in_notebook()
    clock = ticking_clock(1.0)
    with progress("gate <churn@1>", total=3, unit="checks", clock=lambda: next(clock)) as tick:
        for done in range(3):
            tick(done, note="<min_rows>")
    [shown] = notebook.outputs
    assert len(shown) == 4  # the first draw, two updates, the final state
    final = notebook.final()
    assert final.find("progress").attrs == {"value": "3", "max": "3"}
    assert "gate <churn@1>" in final.text() and "3 of 3 checks" in final.text() and "<min_rows>" not in final.text()
    assert "<churn@1>" not in notebook.outputs[0][-1]  # escaped


def test_redraws_are_throttled_but_the_last_state_is_always_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = fake_notebook(monkeypatch)
    with progress("scoring", unit="rows", clock=lambda: 0.0) as tick:  # no time passes: no redraws
        for done in range(0, 10_000, 1_000):
            tick(done, None)
    _first, *updates = notebook.outputs[0]
    assert len(updates) == 1 and "9,000 rows" in notebook.final().text()
    assert notebook.final().find("progress").attrs == {}  # no total: an indeterminate bar


def test_an_error_leaves_the_bar_where_it_stopped_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = fake_notebook(monkeypatch)

    def stop_after_two_steps() -> None:
        with progress("pipeline p", total=5, unit="steps") as tick:
            tick(2)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        stop_after_two_steps()
    final = notebook.final()
    assert final.find("progress").attrs == {"value": "2", "max": "5"} and "stopped: KeyError" in final.text()
