"""`shipyard demo` plays the whole loop and leaves a store that tells the story; it never writes over other work."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from shipyard.demo.folder import MARKER, prepare
from shipyard.gates import Gate


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo at its smallest size, run as `make demo` runs it (its own process: it serves and forks)."""
    folder = tmp_path_factory.mktemp("demo") / "shipyard-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    command = [sys.executable, "-m", "shipyard.cli", "demo", "--dir", str(folder), "--quiet", "--rows", "1000"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done.stdout


@pytest.fixture(scope="module")
def store(demo: tuple[Path, str]) -> Iterator[sy.Client]:
    folder, _ = demo
    client = sy.Client(str(folder / ".shipyard"), cwd=folder, capture_environment=False)
    yield client
    client.close()


@pytest.mark.slow
def test_the_gate_blocked_the_weak_candidate_and_passed_the_champion(store: sy.Client) -> None:
    first, second = (store.models.get(f"churn@{n}") for n in (1, 2))
    assert len(first.signature["inputs"]) == 3 and len(second.signature["inputs"]) == 24
    assert Gate(store).latest(first)["passed"] is False
    assert Gate(store).latest(second)["passed"] is True
    assert "previous-champion" in second.aliases


@pytest.mark.slow
def test_drift_opened_an_alert_and_the_loop_promoted_a_retrained_champion(
    store: sy.Client, demo: tuple[Path, str]
) -> None:
    rules = {a.rule for a in store.backend.monitors.alerts("default", monitor="churn-drift")}
    assert "feature_drift" in rules
    [loop] = store.backend.loops.loops("default", model="churn")
    assert [h["state"] for h in loop.history] == ["retraining", "gating", "canary", "promoted"]
    assert store.models.get("churn@champion").version == loop.candidate_version == 3
    assert dict(store.models.get("churn@3").datasets)["train"] == "training.train_rows@2"  # the drifted data
    assert "churn@2 → churn@3" in demo[1]


@pytest.mark.slow
def test_the_reports_are_html_files(demo: tuple[Path, str]) -> None:
    folder, _ = demo
    reports = sorted(p.name for p in (folder / "reports").iterdir())
    assert reports == ["gate-churn-1.html", "gate-churn-3.html", "monitor-churn-drift.html"]
    assert all((folder / "reports" / name).read_text()[:200].lower().startswith("<!doctype html") for name in reports)
    assert {"shipyard.toml", "pipelines.py", ".shipyard", MARKER} <= {p.name for p in folder.iterdir()}


def test_a_non_empty_folder_it_did_not_make_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 2
    assert "was not made by `shipyard demo`" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_an_earlier_demo_folder_is_emptied_of_what_the_demo_wrote(tmp_path: Path) -> None:
    prepare(tmp_path)
    (tmp_path / ".shipyard").mkdir()
    (tmp_path / "shipyard.toml").write_text("[gate]\n")
    (tmp_path / "notes.txt").write_text("mine")
    prepare(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "notes.txt"]
