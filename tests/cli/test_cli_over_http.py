"""The CLI with SHIPYARD_URI=http://… and SHIPYARD_TOKEN: the same commands, answered by a server.

The server runs on a thread of this process over a fresh SQLite store; the commands run where no local
store exists, so anything that reached for one would fail or leave a ``.shipyard`` behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner, Result

import shipyard
from shipyard.cli.main import app
from shipyard.core.entities import ModelVersion
from shipyard.core.errors import NotFound, PermissionDenied, Unauthenticated
from tests._server import RunningServer, server_thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    store = tmp_path / "server" / ".shipyard"
    with server_thread(str(store), str(store / "artifacts"), tmp_path / "server") as running:
        yield running


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder of the commands: no store in it or above it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def remote(server: RunningServer, elsewhere: Path) -> Iterator[shipyard.Client]:
    client = shipyard.Client(server.url, token=server.admin_token, capture_environment=False, cwd=elsewhere)
    yield client
    client.close()


@pytest.fixture
def churn(remote: shipyard.Client) -> ModelVersion:
    x = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9], "b": [1.0, 0.0, 0.9, 0.1]})
    with remote.start_run(project="churn", name="lr") as run:
        run.log_metric("auc", 0.9)
        return run.log_model(LogisticRegression().fit(x, [0, 1, 0, 1]), "churn", input_example=x)


def shipyard_cli(server: RunningServer, *args: str, token: str | None = None) -> Result:
    env = {"SHIPYARD_URI": server.url, "SHIPYARD_TOKEN": token or server.admin_token, "COLUMNS": "200"}
    return CliRunner(env=env).invoke(app, list(args))


def test_runs_are_listed_from_the_server(server: RunningServer, remote: shipyard.Client, elsewhere: Path) -> None:
    with remote.start_run(project="churn", name="gbm") as run:
        run.log_metric("auc", 0.91)
    result = shipyard_cli(server, "runs", "list", "--project", "churn", "--json")
    assert result.exit_code == 0, result.output
    (listed,) = json.loads(result.stdout)["runs"]
    assert (listed["id"], listed["metrics"]) == (run.id, {"auc": 0.91})
    assert not (elsewhere / ".shipyard").exists()


def test_what_the_server_does_not_hold_is_its_not_found(server: RunningServer, elsewhere: Path) -> None:
    result = shipyard_cli(server, "runs", "show", "0" * 32)
    assert result.exit_code == NotFound.exit_code
    assert "0" * 32 in result.stderr
    assert "No Shipyard store here" not in result.stderr
    assert not (elsewhere / ".shipyard").exists()


def test_an_alias_move_is_audited_with_the_tokens_user(server: RunningServer, churn: ModelVersion) -> None:
    alice = server.token_for("alice", "maintainer", "churn")
    moved = shipyard_cli(server, "models", "alias", "churn", str(churn.version), "staging", "-p", "churn", token=alice)
    assert moved.exit_code == 0, moved.output
    shown = shipyard_cli(server, "models", "show", "churn@staging", "-p", "churn", "--json")
    assert json.loads(shown.stdout)["version"] == churn.version
    audit = shipyard_cli(server, "models", "audit", "-p", "churn", "--json")
    events = json.loads(audit.stdout)["events"]
    assert [(e["action"], e["actor"]) for e in events if e["action"] == "alias.set"] == [("alias.set", "alice")]


def test_a_viewer_may_read_but_not_move_an_alias(server: RunningServer, churn: ModelVersion) -> None:
    bob = server.token_for("bob", "viewer", "churn")
    assert shipyard_cli(server, "models", "list", "-p", "churn", token=bob).exit_code == 0
    refused = shipyard_cli(server, "models", "alias", "churn", str(churn.version), "staging", "-p", "churn", token=bob)
    assert refused.exit_code == PermissionDenied.exit_code
    assert "editor" in refused.stderr


def test_a_wrong_token_is_unauthenticated(server: RunningServer) -> None:
    result = shipyard_cli(server, "runs", "list", token="sy_not-a-token")
    assert result.exit_code == Unauthenticated.exit_code
    assert "token" in result.stderr


@pytest.mark.parametrize("command", [["init"], ["db", "upgrade"], ["db", "current"]])
def test_commands_on_the_database_itself_refuse_a_server(
    server: RunningServer, elsewhere: Path, command: list[str]
) -> None:
    result = shipyard_cli(server, *command)
    assert result.exit_code == 2
    assert f"shipyard {' '.join(command)} --uri postgresql+psycopg://" in result.stderr
    assert list(elsewhere.iterdir()) == []  # no shipyard.toml, no .shipyard


def test_an_admin_adds_a_user_whose_token_then_works(server: RunningServer, remote: shipyard.Client) -> None:
    with remote.start_run(project="churn"):
        pass
    added = shipyard_cli(server, "users", "add", "carol", "--role", "viewer", "-p", "churn")
    assert added.exit_code == 0, added.output
    (secret,) = [word.split("=", 1)[1] for word in added.stdout.split() if word.startswith("SHIPYARD_TOKEN=")]
    assert shipyard_cli(server, "runs", "list", "-p", "churn", token=secret).exit_code == 0
    refused = shipyard_cli(server, "users", "add", "mallory", "--admin", token=secret)
    assert refused.exit_code == PermissionDenied.exit_code
    assert "mallory" not in [u.name for u in server.backend.accounts.list_users()]
