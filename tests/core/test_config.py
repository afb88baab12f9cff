from pathlib import Path

import pytest

import shipyard as sy
from shipyard.core.config import Settings


def write_toml(folder: Path, body: str) -> None:
    (folder / "shipyard.toml").write_text(body)


def test_argument_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    write_toml(tmp_path, "[shipyard]\nproject = 'from-file'\nflush_interval = 2.5\nheartbeat_timeout = 9\n")
    env = {"SHIPYARD_PROJECT": "from-env", "SHIPYARD_FLUSH_INTERVAL": "0.5"}
    settings = Settings.load(cwd=tmp_path, environ=env, project="from-arg")
    assert settings.project == "from-arg"
    assert settings.flush_interval == 0.5
    assert settings.heartbeat_timeout == 9.0
    assert settings.gc_grace == 3600.0


def test_the_root_is_found_by_walking_up(tmp_path: Path) -> None:
    (tmp_path / ".shipyard").mkdir()
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    settings = Settings.load(cwd=deep, environ={})
    assert settings.root == tmp_path.resolve()
    assert settings.uri == str(tmp_path.resolve() / ".shipyard")


def test_without_a_marker_the_working_directory_is_the_root(tmp_path: Path) -> None:
    assert Settings.load(cwd=tmp_path, environ={}).uri == str(tmp_path.resolve() / ".shipyard")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHIPYARD_FLUSH_INTERVAL": "soon"}, "'flush_interval' from environment variable SHIPYARD_FLUSH_INTERVAL"),
        ({"SHIPYARD_FLUSH_MAX_POINTS": "0"}, "positive integer"),
        ({"SHIPYARD_CAPTURE_ENVIRONMENT": "maybe"}, "true or false"),
        ({"SHIPYARD_SQLITE_SYNCHRONOUS": "OFF"}, "NORMAL, FULL or EXTRA"),
    ],
)
def test_bad_values_name_their_source(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(sy.InvalidInput, match=message):
        Settings.load(cwd=tmp_path, environ=env)


def test_unknown_keys_in_the_file_are_listed(tmp_path: Path) -> None:
    write_toml(tmp_path, "[shipyard]\nflush_intervall = 1\n")
    with pytest.raises(
        sy.InvalidInput, match=r"unknown key\(s\) flush_intervall in \[shipyard\] \(did you mean 'flush_interval'\?\)"
    ):
        Settings.load(cwd=tmp_path, environ={})


def test_a_broken_file_is_invalid_input(tmp_path: Path) -> None:
    write_toml(tmp_path, "[shipyard\n")
    with pytest.raises(sy.InvalidInput, match="not valid TOML"):
        Settings.load(cwd=tmp_path, environ={})


def test_unknown_arguments_are_rejected() -> None:
    with pytest.raises(sy.InvalidInput, match="Unknown setting 'flush'"):
        Settings.load(flush=1)


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-1", "315360001"])
def test_a_duration_setting_must_be_finite_and_at_most_ten_years(value: str) -> None:
    with pytest.raises(sy.InvalidInput, match="SHIPYARD_GC_GRACE must be a number from 0 to 315,360,000"):
        Settings.load(environ={"SHIPYARD_GC_GRACE": value})
