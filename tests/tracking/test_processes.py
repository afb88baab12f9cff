"""Real processes: a SIGKILL after flush, and eight writers on one SQLite file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard as sy
from shipyard.core.entities import RunStatus
from shipyard.tracking.client import _end_open_runs

WORKER = str(Path(__file__).with_name("_worker.py"))


def spawn(mode: str, settings: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, WORKER, mode, settings["uri"], settings["artifacts"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.slow
def test_flushed_points_survive_sigkill_and_the_run_reads_crashed(store_settings: dict[str, str]) -> None:
    proc = spawn("crash", store_settings)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    run_id = proc.stdout.readline().strip()
    proc.kill()
    proc.communicate(timeout=60)
    reader = sy.Client(store_settings["uri"], artifacts=store_settings["artifacts"], capture_environment=False)
    assert len(reader.get_metric_history(run_id, "loss")) == 10_000
    assert reader.get_run(run_id).status is RunStatus.CRASHED
    reader.close()


@pytest.mark.slow
def test_eight_processes_write_one_sqlite_store_without_errors_or_loss(tmp_path: Path) -> None:
    settings = {"uri": str(tmp_path / ".shipyard"), "artifacts": str(tmp_path / ".shipyard" / "artifacts")}
    workers = [spawn("log", settings) for _ in range(8)]
    for proc in workers:  # the store does not exist yet: creating it is part of the race
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [proc.communicate(timeout=240) for proc in workers]
    assert [proc.returncode for proc in workers] == [0] * 8, [err for _, err in results]
    assert not any("locked" in err for _, err in results)
    reader = sy.Client(settings["uri"], artifacts=settings["artifacts"], capture_environment=False)
    for out, _ in results:
        run_id = out.strip()
        history = reader.get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(3_000))
        assert reader.get_run(run_id).status is RunStatus.FINISHED
    reader.close()


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "status"), [("exit", RunStatus.FINISHED), ("raise", RunStatus.FAILED)])
def test_interpreter_exit_flushes_and_ends_open_runs(tmp_path: Path, mode: str, status: RunStatus) -> None:
    settings = {"uri": str(tmp_path / ".shipyard"), "artifacts": str(tmp_path / ".shipyard" / "artifacts")}
    proc = spawn(mode, settings)
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == (0 if mode == "exit" else 1), err
    reader = sy.Client(settings["uri"], artifacts=settings["artifacts"], capture_environment=False)
    run_id = out.strip()
    assert len(reader.get_metric_history(run_id, "loss")) == 500
    assert reader.get_run(run_id).status is status
    reader.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
def test_a_forked_child_logs_its_own_run_and_leaves_the_parents_alone(client: sy.Client) -> None:
    parent_run = client.start_run(name="parent")
    parent_run.log_metric("loss", 1.0)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a fresh connection pool, a run of its own, and an exit that runs atexit
        try:
            with client.start_run(name="child", parent=parent_run.id) as child:
                child.log_metric("loss", 2.0)
            os.write(write, child.id.encode())
            _end_open_runs()  # what interpreter exit would run in the child
        finally:
            os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    parent_run.flush()
    assert client.get_run(parent_run.id).status is RunStatus.RUNNING
    assert client.get_run(child_id).parent_id == parent_run.id
    assert [m.value for m in client.get_metric_history(child_id, "loss")] == [2.0]
    assert [m.value for m in client.get_metric_history(parent_run.id, "loss")] == [1.0]
    parent_run.end()
