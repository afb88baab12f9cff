from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

import shipyard
from tests.cli.helpers import Invoke, strict_json

FLOW = """
import shipyard as sy

@sy.step
def double(x: int) -> int:
    return 2 * x

@sy.step
def check(y: int) -> int:
    {check_body}

@sy.step
def add(a: int, b: int) -> int:
    return a + b

@sy.pipeline(project="p")
def flow(x: int = 2):
    doubled = double(x)
    return add(doubled, check(doubled))
"""
GOOD = "return y"
BAD = 'raise ValueError("bad row 7")'


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(FLOW.format(check_body=GOOD))
    return path


def run(invoke: Invoke, target: Path | str, *args: str) -> Result:
    return invoke("pipeline", "run", str(target), "--workers", "1", *args)


def steps(result: Result) -> dict[str, dict[str, Any]]:
    return {step["node"]: step for step in strict_json(result.stdout)["steps"]}


def test_run_prints_the_run_id_and_every_step(invoke: Invoke, flow_file: Path) -> None:
    result = run(invoke, f"{flow_file}:flow")
    assert result.exit_code == 0, result.output
    assert "Pipeline run " in result.stdout and "3 ok" in result.stdout
    for node in ("double", "check", "add"):
        assert node in result.stdout
    assert "failed" not in result.stdout


def test_a_param_becomes_the_annotated_type(invoke: Invoke, flow_file: Path) -> None:
    result = run(invoke, flow_file, "--param", "x=5", "--json")
    assert result.exit_code == 0, result.output
    document = strict_json(result.stdout)
    assert document["pipeline"] == "flow" and document["project"] == "p" and document["status"] == "finished"
    assert document["params"] == {"x": 5}
    assert steps(result)["add"]["outputs"]["output"]["value"] == 20


def test_a_second_run_reuses_every_step_from_the_cache(invoke: Invoke, flow_file: Path) -> None:
    first = steps(run(invoke, flow_file, "--json"))
    again = run(invoke, flow_file)
    assert again.exit_code == 0
    assert "3 ok (3 cached)" in again.stdout
    second = steps(run(invoke, flow_file, "--json"))
    assert {node: step["run_id"] for node, step in second.items()} == {n: s["run_id"] for n, s in first.items()}


def test_no_cache_runs_every_step_again(invoke: Invoke, flow_file: Path) -> None:
    first = steps(run(invoke, flow_file, "--json"))
    second = steps(run(invoke, flow_file, "--no-cache", "--json"))
    assert {step["status"] for step in second.values()} == {"finished"}
    assert all(second[node]["run_id"] != first[node]["run_id"] for node in first)


def test_an_unknown_param_exits_2_naming_the_pipelines_params(invoke: Invoke, flow_file: Path) -> None:
    result = run(invoke, flow_file, "--param", "y=1")
    assert result.exit_code == 2
    assert "no parameter 'y'" in result.stderr and "Its parameters: x" in result.stderr


@pytest.mark.parametrize(("value", "message"), [("x", "NAME=VALUE"), ("x=two", "expected a int")])
def test_a_malformed_param_exits_2(invoke: Invoke, flow_file: Path, value: str, message: str) -> None:
    result = run(invoke, flow_file, "--param", value)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("source", "error"),
    [("import not_a_module\n", "ModuleNotFoundError: No module named 'not_a_module'"), ("def (:\n", "SyntaxError")],
)
def test_a_file_that_does_not_import_exits_2_with_the_import_error(
    invoke: Invoke, tmp_path: Path, source: str, error: str
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(source)
    result = run(invoke, broken)
    assert result.exit_code == 2
    assert "does not import" in result.stderr and error in result.stderr


def test_a_missing_file_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    result = run(invoke, tmp_path / "nowhere.py")
    assert result.exit_code == 2
    assert "No pipeline file" in result.stderr


@pytest.mark.parametrize(
    ("target", "args"),
    [("nowhere.py", ()), ("broken.py", ()), ("flow.py", ("--param", "y=1")), ("flow.py:other", ())],
)
def test_an_input_error_comes_before_anything_is_announced(
    invoke: Invoke, flow_file: Path, target: str, args: tuple[str, ...]
) -> None:
    (flow_file.parent / "broken.py").write_text("def (:\n")
    result = run(invoke, flow_file.parent / target, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")  # no "Running … on the local executor…" first
    assert "Running" not in result.output


def test_address_needs_the_ray_executor(invoke: Invoke, flow_file: Path) -> None:
    result = run(invoke, flow_file, "--address", "ray://head:10001")
    assert result.exit_code == 2
    assert "--executor ray" in result.output


def test_a_failing_step_exits_1_and_skips_what_depends_on_it(invoke: Invoke, flow_file: Path) -> None:
    flow_file.write_text(FLOW.format(check_body=BAD))
    result = run(invoke, flow_file, "--json")
    assert result.exit_code == 1
    assert strict_json(result.stdout)["status"] == "failed"
    assert {node: step["status"] for node, step in steps(result).items()} == {
        "double": "finished",
        "check": "failed",
        "add": "skipped",
    }


def test_show_prints_a_failed_steps_error_and_with_traceback_the_whole_traceback(
    invoke: Invoke, flow_file: Path
) -> None:
    flow_file.write_text(FLOW.format(check_body=BAD))
    run_id = strict_json(run(invoke, flow_file, "--json").stdout)["run_id"]
    shown = invoke("pipeline", "show", run_id)
    assert shown.exit_code == 0
    assert "ValueError: bad row 7 (flow.py:" in shown.stdout
    assert "skipped" in shown.stdout and "step 'check' failed" in shown.stdout
    full = invoke("pipeline", "show", run_id, "--traceback")
    assert "Traceback (most recent call last)" in full.stdout and 'raise ValueError("bad row 7")' in full.stdout


def test_runs_lists_pipeline_runs_but_not_their_steps_runs(invoke: Invoke, flow_file: Path) -> None:
    run_id = strict_json(run(invoke, flow_file, "--json").stdout)["run_id"]
    listed = strict_json(invoke("pipeline", "runs", "--json").stdout)["runs"]
    assert [(item["run_id"], item["pipeline"], item["status"]) for item in listed] == [(run_id, "flow", "finished")]
    assert listed[0]["step_counts"] == {"finished": 3}


def test_runs_summarises_the_steps_of_each_run(invoke: Invoke, flow_file: Path) -> None:
    run(invoke, flow_file)
    flow_file.write_text(FLOW.format(check_body=BAD))
    run(invoke, flow_file)
    result = invoke("pipeline", "runs")
    assert result.exit_code == 0
    assert "1 ok (1 cached), 1 failed, 1 skipped" in result.stdout  # double is unchanged; check is not
    assert "3 ok" in result.stdout


def test_show_refuses_a_run_that_is_not_a_pipelines(invoke: Invoke, flow_file: Path, store: shipyard.Client) -> None:
    with store.start_run(project="p", name="plain") as plain:
        pass
    assert invoke("pipeline", "show", plain.id).exit_code == 2
    assert "not a pipeline run" in invoke("pipeline", "show", plain.id).stderr
    document = strict_json(run(invoke, flow_file, "--json").stdout)
    step_run = invoke("pipeline", "show", document["steps"][0]["run_id"])
    assert step_run.exit_code == 2 and f"pipeline run {document['run_id']}" in step_run.stderr
    assert invoke("pipeline", "show", "0" * 32).exit_code == 2


def test_resume_after_a_fix_reruns_only_what_did_not_succeed(invoke: Invoke, flow_file: Path) -> None:
    flow_file.write_text(FLOW.format(check_body=BAD))
    failed = run(invoke, flow_file, "--json")
    run_id = strict_json(failed.stdout)["run_id"]
    flow_file.write_text(FLOW.format(check_body=GOOD))
    resumed = invoke("pipeline", "resume", run_id, "--workers", "1", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert strict_json(resumed.stdout)["run_id"] == run_id
    before, after = steps(failed), steps(resumed)
    assert after["double"]["run_id"] == before["double"]["run_id"]  # kept, not run again
    assert {step["status"] for step in after.values()} == {"finished"}
    assert after["check"]["run_id"] != before["check"]["run_id"]
    assert invoke("pipeline", "resume", run_id).exit_code == 2  # finished: nothing to resume


@pytest.mark.parametrize(
    "change",
    ["def (:\n", None, FLOW.format(check_body=GOOD).replace("add(doubled, check(doubled))", "check(doubled)")],
    ids=["does-not-import", "deleted", "other-steps"],
)
def test_resume_reports_an_input_error_before_announcing_anything(
    invoke: Invoke, flow_file: Path, change: str | None
) -> None:
    flow_file.write_text(FLOW.format(check_body=BAD))
    run_id = strict_json(run(invoke, flow_file, "--json").stdout)["run_id"]
    if change is None:
        flow_file.unlink()
    else:
        flow_file.write_text(change)
    result = invoke("pipeline", "resume", run_id)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")  # no "Resuming pipeline run … on the local executor…" first
    assert "Resuming" not in result.output


def test_resume_of_a_finished_run_says_so_without_announcing_a_resume(invoke: Invoke, flow_file: Path) -> None:
    run_id = strict_json(run(invoke, flow_file, "--json").stdout)["run_id"]
    result = invoke("pipeline", "resume", run_id)
    assert result.exit_code == 2
    assert result.stderr == f"error: Pipeline run {run_id} finished; there is nothing to resume.\n"
