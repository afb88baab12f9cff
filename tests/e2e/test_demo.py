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
from shipyard.demo.summary import shipyard_command
from shipyard.gates import Gate


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo at its smallest size, run as `make demo` runs it (its own process: it serves and forks)."""
    folder = tmp_path_factory.mktemp("demo") / "shipyard-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PATH"] = "/usr/bin:/bin"  # a fresh shell after `make demo`: the venv is not activated
    command = [sys.executable, "-m", "shipyard.cli", "demo", "--dir", str(folder), "--rows", "1000"]
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


def _venv(root: Path) -> Path:
    """A virtualenv's bin folder as `make demo` leaves it: python and the `shipyard` console script."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "shipyard"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_the_explore_hints_call_the_venvs_shipyard_when_it_is_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _venv(tmp_path)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shipyard_command() == str(bin_dir / "shipyard")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # after `source .venv/bin/activate`
    assert shipyard_command() == "shipyard"


def test_another_shipyard_on_path_is_not_the_one_the_hints_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = _venv(tmp_path / "mine"), _venv(tmp_path / "other")
    monkeypatch.setattr(sys, "executable", str(mine / "python"))
    monkeypatch.setenv("PATH", f"{other}:/usr/bin")
    assert shipyard_command() == str(mine / "shipyard")
    (mine / "shipyard").unlink()  # run from a checkout with `python -m shipyard.cli`, no console script
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shipyard_command() == f"{mine / 'python'} -m shipyard.cli"


@pytest.mark.slow
def test_the_summary_ends_with_commands_that_run_as_printed(demo: tuple[Path, str]) -> None:
    folder, out = demo
    hints = out.split("Explore what the demo left in", 1)[1].splitlines()
    commands = [line.split("   # ")[0].strip() for line in hints if "   # " in line]
    assert len(commands) == 9 and not any(command.startswith("shipyard ") for command in commands)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PATH"] = "/usr/bin:/bin"
    for command in commands[:4]:  # models list, models audit, pipeline runs, datasets list
        ran = subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True, env=env, check=False)
        assert ran.returncode == 0, command + ran.stderr
