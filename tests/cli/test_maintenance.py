from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.core.config import Settings
from shipyard.store import HEAD_REVISION
from tests.cli.helpers import Invoke, strict_json


def test_init_creates_store_and_config_and_is_idempotent(tmp_path: Path) -> None:
    first = CliRunner().invoke(app, ["init", str(tmp_path / "proj")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "proj/.shipyard/shipyard.db").is_file()
    assert "Created" in first.stdout
    (tmp_path / "proj/shipyard.toml").write_text("[shipyard]\nproject = 'mine'\n")
    again = strict_json(CliRunner().invoke(app, ["init", str(tmp_path / "proj"), "--json"]).stdout)
    assert again["store"]["created"] is False and again["config"]["created"] is False
    assert (tmp_path / "proj/shipyard.toml").read_text() == "[shipyard]\nproject = 'mine'\n"


def test_starter_config_is_valid_and_protects_champion(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["init", str(tmp_path)])
    document = tomllib.loads((tmp_path / "shipyard.toml").read_text())
    assert document["gate"]["protected_aliases"] == ["champion"]
    assert Settings.load(cwd=tmp_path, environ={}).uri == str(tmp_path / ".shipyard")


def test_commands_refuse_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--uri", str(tmp_path / "nowhere"), "runs", "list"])
    assert result.exit_code == 2
    assert "shipyard init" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_gc_dry_run_reports_and_changes_nothing(store: shipyard.Client, invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("orphan")
    with store.start_run() as run:
        run.log_artifact(tmp_path / "a.txt")
    store.delete_run(run.id)
    result = invoke("gc", "--dry-run", "--grace", "0")
    assert result.exit_code == 0, result.output
    assert "Would purge 1 deleted run (deleted more than 0s ago)." in result.stdout
    assert "Would remove 1 unreferenced blob" in result.stdout
    assert store.get_run(run.id).deleted


def test_gc_purges_deleted_runs_and_their_blobs(store: shipyard.Client, invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("orphan")
    with store.start_run() as run:
        run.log_artifact(tmp_path / "a.txt")
    store.delete_run(run.id)
    report = strict_json(invoke("gc", "--grace", "0", "--json").stdout)
    assert (report["purged_runs"], report["runs"]) == (1, [run.id])
    assert report["removed_blobs"] == 1 and report["freed_bytes"] >= 6
    assert invoke("runs", "show", run.id).exit_code == 2
    again = invoke("gc", "--grace", "0")
    assert "Purged 0 deleted runs (deleted more than 0s ago)." in again.stdout
    assert "Removed 0 unreferenced blobs" in again.stdout


def test_gc_rejects_a_negative_grace(invoke: Invoke) -> None:
    assert invoke("gc", "--grace", "-1").exit_code == 2


@pytest.mark.parametrize("grace", ["-1", "315360001", "1e400", "inf", "-inf", "nan"])
def test_gc_refuses_a_grace_that_is_not_0_to_10_years_of_seconds(invoke: Invoke, grace: str) -> None:
    result = invoke("gc", "--dry-run", "--grace", grace)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: Invalid value for '--grace': a grace period is 0 to 315,360,000 seconds (10 years); got {grace!r}. "
        "Try 'shipyard gc --help'."
    ]
    assert invoke("gc", "--dry-run", "--grace", "315360000").exit_code == 0


def test_db_current_and_upgrade_report_the_revision(invoke: Invoke) -> None:
    current = strict_json(invoke("db", "current", "--json").stdout)
    assert current == {"uri": current["uri"], "revision": HEAD_REVISION, "head": HEAD_REVISION, "up_to_date": True}
    upgraded = strict_json(invoke("db", "upgrade", "--json").stdout)
    assert (upgraded["from"], upgraded["to"]) == (HEAD_REVISION, HEAD_REVISION)
    assert "nothing to do" in invoke("db", "upgrade").stdout


def test_db_upgrade_brings_an_empty_database_to_head(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    result = CliRunner().invoke(app, ["--uri", f"sqlite:///{tmp_path / 'empty.db'}", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"from revision none to {HEAD_REVISION}" in result.stdout


def test_a_damaged_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    db = tmp_path / ".shipyard" / "shipyard.db"
    db.write_bytes(b"garbage garbage!" + db.read_bytes()[16:])
    for command in (["runs", "list"], ["db", "current"], ["gc", "--dry-run"]):
        result = CliRunner().invoke(app, ["--uri", str(tmp_path / ".shipyard"), *command])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: The metadata store ") and result.stderr.count("\n") == 1
        assert "file is not a database. shipyard.db is damaged" in result.stderr
        assert "Restore it from a backup" in result.stderr


def test_init_and_every_command_refuse_a_store_whose_database_was_lost(
    store: shipyard.Client, invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("kept")
    with store.start_run() as run:
        run.log_artifact(tmp_path / "a.txt")
    store.close()
    (tmp_path / ".shipyard" / "shipyard.db").write_bytes(b"")
    for command in (["runs", "list"], ["gc", "--dry-run", "--grace", "0"], ["db", "upgrade"]):
        result = invoke(*command)
        assert result.exit_code == 2, result.output
        assert "is missing or empty (no tables), but the artifact store beside it" in result.stderr
        assert "Restore shipyard.db from a backup" in result.stderr
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 2
    assert (tmp_path / ".shipyard" / "shipyard.db").stat().st_size == 0


@pytest.mark.postgres
def test_db_upgrade_and_current_of_a_shared_database_need_no_artifact_store(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema is the database's alone: an operator upgrades a server's PostgreSQL with its URL only."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_ARTIFACTS", raising=False)
    upgraded = CliRunner().invoke(app, ["--uri", postgres_url, "db", "upgrade", "--json"])
    assert upgraded.exit_code == 0, upgraded.output
    assert strict_json(upgraded.stdout)["to"] == HEAD_REVISION
    current = CliRunner().invoke(app, ["--uri", postgres_url, "db", "current", "--json"])
    assert current.exit_code == 0, current.output
    assert strict_json(current.stdout)["up_to_date"] is True
    runs = CliRunner().invoke(app, ["--uri", postgres_url, "runs", "list"])  # using the store still needs one
    assert runs.exit_code == 2 and "SHIPYARD_ARTIFACTS" in runs.stderr
