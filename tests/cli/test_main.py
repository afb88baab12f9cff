from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert result.stderr == "error: No such command 'lst'. Did you mean 'list'? Try 'shipyard runs --help'.\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["gc", "--grace", "-5"], "Invalid value for '--grace': a grace period is 0 to 315,360,000 seconds"),
        (["gc", "--grace", "abc"], "Invalid value for '--grace': a grace period is 0 to 315,360,000 seconds"),
        (["models", "audit", "--limit", "0"], "Invalid value for '--limit'"),
        (["serve", "churn@champion", "--port", "70000"], "Input should be less than or equal to 65535; got '70000'."),
        (["promote", "churn@2", "--override"], '--override needs --reason "…" saying why.'),
        (["pipeline", "runs", "--limit", "0"], "Invalid value for '--limit'"),
        (["scheduler", "--poll", "-1"], "Invalid value for '--poll'"),
        (["runs", "show"], "Missing argument 'run_id'."),
        (["runs", "list", "--filtr", "x"], "No such option: --filtr. Did you mean --filter?"),
        (["runs", "compare", "0" * 32], "give at least two run ids to compare; got 1."),
        (["models", "list", "--project"], "Option '--project' requires an argument."),
        (["runs", "list", "-n"], "Option '-n' requires an argument."),
        (["runs", "list", "-n", "x"], "Invalid value for '--max-results' / '-n': Input should be a valid integer"),
        (["pipeline", "run", "f.py", "--executor", "nope"], "Invalid value for '--executor'"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read(args: list[str], expected: str, invoke: Invoke) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    command = "shipyard " + " ".join(arg for arg in args[:2] if not arg.startswith("-") and "@" not in arg)
    assert line.startswith("error: ") and expected in line and line.endswith(f" Try '{command} --help'.")


def test_a_mistyped_top_level_command_suggests_the_right_one_and_a_far_one_does_not() -> None:
    close = CliRunner().invoke(app, ["rns", "list"])
    assert close.exit_code == 2
    assert close.stderr == "error: No such command 'rns'. Did you mean 'runs'? Try 'shipyard --help'.\n"
    far = CliRunner().invoke(app, ["xyzzy"])
    assert far.exit_code == 2 and far.stderr == "error: No such command 'xyzzy'. Try 'shipyard --help'.\n"


def test_a_bad_global_option_is_one_line_too() -> None:
    result = CliRunner().invoke(app, ["--uri"])
    assert result.exit_code == 2
    assert result.stderr == "error: Option '--uri' requires an argument. Try 'shipyard --help'.\n"


def test_a_group_without_a_command_still_prints_its_help() -> None:
    result = CliRunner().invoke(app, ["runs"])
    assert result.exit_code == 2
    assert "Usage: shipyard runs" in result.output and "error:" not in result.output


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


def test_a_prompt_that_nobody_can_answer_exits_2_saying_to_pass_yes(store: shipyard.Client, invoke: Invoke) -> None:
    from sklearn.linear_model import LogisticRegression

    data = {"x": [0.0, 1.0]}
    with store.start_run() as run:
        run.log_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "churn", train_data=data)
    result = invoke("models", "delete", "churn", "1")  # asks; CliRunner's stdin is no terminal, like </dev/null
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: Cannot ask whether to delete churn@1: stdin is not a terminal. Pass --yes to go ahead."
    ]  # refused at once: no prompt printed first
    assert store.models.get("churn@1").version == 1


def test_a_config_file_that_is_not_utf8_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, invoke: Invoke
) -> None:
    (tmp_path / "shipyard.toml").write_bytes(b"\xff\xfe[gate]\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("runs", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'shipyard.toml'} is not valid UTF-8 TOML: ")
    assert "Save it as UTF-8" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--uri", "a" * 300, "runs", "list"],
        ["pipeline", "run", "a" * 300 + ".py"],
        ["monitor", "run", "--config", "a" * 300],
    ],
)
def test_a_path_the_system_refuses_is_an_input_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shipyard.Client(str(tmp_path / ".shipyard"), capture_environment=False).close()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Cannot use ") and "a" * 300 in line
    assert line.endswith(": File name too long. Give a shorter path.")


def test_importing_the_cli_loads_no_database_layer() -> None:
    code = "import sys; from shipyard.cli.main import app; print(sorted({'sqlalchemy', 'alembic'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
