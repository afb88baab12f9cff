from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.core.errors import GateBlocked
from tests.cli.helpers import Invoke


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"shipyard {shipyard.__version__}"


def test_a_mistyped_command_suggests_the_right_one() -> None:
    result = CliRunner().invoke(app, ["runs", "lst"])
    assert result.exit_code == 2
    assert "Did you mean 'list'?" in result.output


def test_a_shipyard_error_exits_with_its_own_code(monkeypatch: pytest.MonkeyPatch, invoke: Invoke) -> None:
    def blocked(*args: object, **kwargs: object) -> None:
        raise GateBlocked("churn@3 has no passing verdict; run `shipyard gate run churn@3 --data DS`.")

    monkeypatch.setattr(shipyard.Client, "search_runs", blocked)
    result = invoke("runs", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: churn@3 has no passing verdict; run `shipyard gate run churn@3 --data DS`.\n"


def test_an_unexpected_error_is_an_internal_error_with_a_debug_hint(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(shipyard.Client, "search_runs", broken)
    result = invoke("runs", "list")
    assert result.exit_code == 3  # neither 1 (a check failed) nor 2 (your input was wrong): CI must not read a verdict
    assert result.stderr == "error: internal error: RuntimeError: boom (rerun with --debug for the traceback)\n"
    assert "Traceback" in invoke("--debug", "runs", "list").stderr


def test_an_internal_error_prints_only_the_first_line_of_its_message(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "database disk image is malformed\n(Background on this error at: https://sqlalche.me/e/21/4xp6)"
        )

    monkeypatch.setattr(shipyard.Client, "search_runs", broken)
    result = invoke("runs", "list")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: internal error: RuntimeError: database disk image is malformed (rerun with --debug for the traceback)\n"
    )


def test_importing_the_cli_loads_no_database_layer() -> None:
    code = "import sys; from shipyard.cli.main import app; print(sorted({'sqlalchemy', 'alembic'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
