from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Invoke, strict_json


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipelines.py"
    path.write_text("# the pipelines\n")
    return path


def test_schedule_list_and_unschedule(invoke: Invoke, pipeline_file: Path) -> None:
    added = invoke("pipeline", "schedule", f"{pipeline_file}:training", "--cron", "0 3 * * *", "--param", "epochs=10")
    assert added.exit_code == 0, added.output
    assert "Scheduled 'training'" in added.stdout and "(UTC)" in added.stdout
    [listed] = strict_json(invoke("pipeline", "schedules", "--json").stdout)["schedules"]
    assert (listed["name"], listed["cron"], listed["params"], listed["running"]) == (
        "training",
        "0 3 * * *",
        {"epochs": "10"},
        False,
    )
    table = invoke("pipeline", "schedules")
    assert "training" in table.stdout and "0 3 * * *" in table.stdout
    assert invoke("pipeline", "unschedule", "training").exit_code == 0
    assert strict_json(invoke("pipeline", "schedules", "--json").stdout)["schedules"] == []


def test_listing_the_schedules_of_an_unknown_project_exits_2_naming_the_known_ones(
    invoke: Invoke, pipeline_file: Path
) -> None:
    invoke("pipeline", "schedule", f"{pipeline_file}:training", "--cron", "0 3 * * *", "--project", "churn")
    assert "training" in invoke("pipeline", "schedules", "--project", "churn").stdout
    result = invoke("pipeline", "schedules", "--project", "chrun")
    assert result.exit_code == 2
    assert "No project named 'chrun'. Did you mean 'churn'? Known projects: churn;" in result.stderr


def test_a_relative_target_is_stored_as_an_absolute_path(
    invoke: Invoke, pipeline_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pipeline_file.parent)
    result = invoke(
        "pipeline", "schedule", "pipelines.py:training", "--cron", "*/5 * * * *", "--name", "often", "--json"
    )
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["target"] == f"{pipeline_file.resolve()}:training"


def test_a_bad_cron_expression_exits_2_with_an_example(invoke: Invoke, pipeline_file: Path) -> None:
    result = invoke("pipeline", "schedule", f"{pipeline_file}:training", "--cron", "61 * * * *")
    assert result.exit_code == 2
    assert "'61 * * * *' is not a cron expression" in result.stderr and "'0 3 * * *'" in result.stderr


def test_a_missing_pipeline_file_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("pipeline", "schedule", f"{tmp_path / 'nope.py'}:training", "--cron", "0 3 * * *")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_unscheduling_an_unknown_name_exits_2(invoke: Invoke, pipeline_file: Path) -> None:
    invoke("pipeline", "schedule", f"{pipeline_file}:training", "--cron", "0 3 * * *")
    result = invoke("pipeline", "unschedule", "trainig")
    assert result.exit_code == 2
    assert "Did you mean 'training'?" in result.stderr


def test_scheduler_once_with_nothing_due_exits_0(invoke: Invoke, pipeline_file: Path) -> None:
    invoke("pipeline", "schedule", f"{pipeline_file}:training", "--cron", "0 3 * * *")
    result = invoke("scheduler", "--once")
    assert result.exit_code == 0, result.output
    assert "Nothing is due." in result.stdout


def test_a_poll_beyond_a_week_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("scheduler", "--poll", "1e400")  # infinity, which no clock can wait for
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()  # the scheduler did not start first
    assert "Input should be less than or equal to 604800; got '1e400'." in line
