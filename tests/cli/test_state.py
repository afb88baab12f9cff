"""Where the store is: commands that start new work create it when none is found, the others refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import shipyard
from shipyard.cli.main import app
from tests.cli.helpers import Invoke, log_run

FLOW = """
import shipyard as sy

@sy.step
def double(x: int) -> int:
    return 2 * x

@sy.pipeline(project="p")
def flow(x: int = 2):
    return double(x)
"""


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory: a folder with no store in it or above it, and no SHIPYARD_URI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_URI", raising=False)
    (tmp_path / "flow.py").write_text(FLOW)
    return tmp_path


def cli(*args: str) -> Result:
    """``shipyard ARGS…`` in the working directory, with no --uri."""
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"}).invoke(app, list(args))


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "list"],
        ["datasets", "list"],
        ["models", "list"],
        ["pipeline", "runs"],
        ["pipeline", "schedules"],
        ["monitor", "alerts"],
        ["promote", "churn@1", "--alias", "champion"],
        ["gate", "policy", "history"],
    ],
)
def test_a_command_that_needs_a_store_refuses_saying_where_it_looked(empty: Path, command: list[str]) -> None:
    result = cli(*command)
    assert result.exit_code == 2, result.output
    assert f"No Shipyard store here: looked for .shipyard/ and shipyard.toml in {empty} and every folder" in (
        result.stderr
    )
    assert "`shipyard init`" in result.stderr and result.stderr.count("\n") == 1
    assert not (empty / ".shipyard").exists()


def test_a_store_named_by_uri_that_does_not_exist_is_named(empty: Path) -> None:
    result = cli("--uri", str(empty / "nowhere"), "runs", "list")
    assert result.exit_code == 2 and f"No Shipyard store at {empty / 'nowhere'} (" in result.stderr
    assert not (empty / "nowhere").exists()


def test_pipeline_run_creates_the_store_where_none_is_found(empty: Path) -> None:
    result = cli("pipeline", "run", "flow.py")
    assert result.exit_code == 0, result.output
    assert f"Created a new Shipyard store at {empty / '.shipyard'} (none in {empty} or above it)." in result.stderr
    listed = cli("runs", "list", "--project", "p", "--json")
    assert listed.exit_code == 0 and "double" in listed.stdout


def test_pipeline_schedule_creates_the_store_but_not_for_a_mistake(empty: Path) -> None:
    bad = cli("pipeline", "schedule", "flow.py:flow", "--cron", "every day")
    assert bad.exit_code == 2 and "is not a cron expression" in bad.stderr
    assert not (empty / ".shipyard").exists()
    good = cli("pipeline", "schedule", "flow.py:flow", "--cron", "0 3 * * *")
    assert good.exit_code == 0, good.output
    assert "Created a new Shipyard store" in good.stderr and (empty / ".shipyard" / "shipyard.db").is_file()


def test_a_second_command_finds_the_store_from_a_subfolder_and_says_nothing(
    empty: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("pipeline", "run", "flow.py").exit_code == 0
    (empty / "sub").mkdir()
    monkeypatch.chdir(empty / "sub")
    again = cli("pipeline", "run", str(empty / "flow.py"))
    assert again.exit_code == 0 and "Created" not in again.stderr
    assert not (empty / "sub" / ".shipyard").exists()
    runs = json.loads(cli("runs", "list", "--json").stdout)["runs"]
    assert [run["name"] for run in runs].count("flow") == 2  # both pipeline runs, in the one store


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "list"],
        ["datasets", "list"],
        ["models", "list"],
        ["models", "audit"],
        ["pipeline", "runs"],
        ["pipeline", "schedules"],
        ["monitor", "alerts"],
        ["monitor", "loops"],
    ],
)
def test_every_listing_refuses_an_unknown_project_alike(
    store: shipyard.Client, invoke: Invoke, command: list[str]
) -> None:
    log_run(store, "a", {}, {})  # project "churn"
    typo = invoke(*command, "--project", "chrun")
    assert typo.exit_code == 2, typo.output
    assert typo.stderr == (
        "error: No project named 'chrun'. Did you mean 'churn'? Known projects: churn; "
        "a project is created by its first run.\n"
    )
    assert invoke(*command, "--project", "churn").exit_code == 0
