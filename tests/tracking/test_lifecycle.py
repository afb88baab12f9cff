import threading
import time

import pytest

import shipyard as sy
from shipyard.core.entities import RunStatus


def test_a_block_that_returns_finishes_the_run(client: sy.Client) -> None:
    with client.start_run(project="churn", name="baseline") as run:
        pass
    record = client.get_run(run.id)
    assert (record.status, record.project, record.name) == (RunStatus.FINISHED, "churn", "baseline")
    assert record.end_time is not None and record.end_time >= record.start_time


def test_a_block_that_raises_fails_the_run_and_keeps_its_points(client: sy.Client) -> None:
    def train() -> None:
        with client.start_run() as run:
            started.append(run.id)
            run.log_metric("loss", 0.3)
            raise ZeroDivisionError

    started: list[str] = []
    with pytest.raises(ZeroDivisionError):
        train()
    run = client.get_run(started[0])
    assert run.status is RunStatus.FAILED
    assert len(client.get_metric_history(run.id, "loss")) == 1


def test_logging_to_a_finished_run_is_a_conflict(client: sy.Client) -> None:
    with client.start_run() as run:
        pass
    with pytest.raises(sy.Conflict, match="has ended"):
        run.log_metric("loss", 0.1)
    with pytest.raises(sy.Conflict, match="has ended"):
        run.log_param("lr", 0.1)
    assert client.get_run(run.id).params == {}


def test_another_process_ending_the_run_makes_writes_conflict(client: sy.Client) -> None:
    run = client.start_run()
    client.backend.store.end_run(run.id, RunStatus.FINISHED)
    with pytest.raises(sy.Conflict, match="has ended"):
        run.log_param("lr", 0.1)


def test_runs_started_inside_a_run_are_its_children(client: sy.Client) -> None:
    with client.start_run() as parent:
        with client.start_run(name="child") as child:
            pass
        with client.start_run(name="explicit", parent=parent.id) as other:
            pass
    assert client.get_run(child.id).parent_id == parent.id
    assert client.get_run(other.id).parent_id == parent.id
    assert client.get_run(parent.id).parent_id is None


def test_an_unknown_parent_is_not_found(client: sy.Client) -> None:
    with pytest.raises(sy.NotFound):
        client.start_run(parent="f" * 32)


def test_a_run_can_be_resumed_by_id(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_metric("loss", 0.5)
    with client.start_run(run_id=run.id) as resumed:
        resumed.log_metric("loss", 0.4)
    assert [m.step for m in client.get_metric_history(run.id, "loss")] == [0, 1]
    assert client.get_run(run.id).status is RunStatus.FINISHED


@pytest.mark.parametrize("run_id", ["nope", "A" * 32, "0" * 31])
def test_malformed_run_ids_are_invalid_input(client: sy.Client, run_id: str) -> None:
    with pytest.raises(sy.InvalidInput, match="32 lowercase hexadecimal"):
        client.get_run(run_id)


def test_an_unknown_run_id_is_not_found(client: sy.Client) -> None:
    with pytest.raises(sy.NotFound, match="shipyard runs list"):
        client.get_run("0" * 32)
    with pytest.raises(sy.NotFound):
        client.start_run(run_id="0" * 32)


def test_a_silent_running_run_reads_crashed(store_settings: dict[str, str]) -> None:
    impatient = sy.Client(
        store_settings["uri"], artifacts=store_settings["artifacts"], heartbeat_timeout=0, capture_environment=False
    )
    run = impatient.backend.store.create_run("a" * 32, project="p", name="n", pid=0)
    assert impatient.get_run(run.id).status is RunStatus.CRASHED
    assert [r.id for r in impatient.search_runs(filter="attributes.status = 'crashed'")] == [run.id]
    impatient.close()


def test_deleted_runs_are_hidden_until_restored(client: sy.Client) -> None:
    with client.start_run() as run:
        pass
    client.delete_run(run.id)
    assert client.search_runs() == []
    assert [r.id for r in client.search_runs(include_deleted=True)] == [run.id]
    client.restore_run(run.id)
    assert [r.id for r in client.search_runs()] == [run.id]


def test_environment_is_captured_once_and_recorded(store_settings: dict[str, str]) -> None:
    capturing = sy.Client(store_settings["uri"], artifacts=store_settings["artifacts"])
    with capturing.start_run() as run:
        pass
    env = capturing.get_run(run.id).environment
    assert env["python"].count(".") == 2
    assert "shipyard" in env["packages"]
    assert env["git"] is None or set(env["git"]) >= {"commit", "dirty"}
    capturing.close()


def test_a_running_run_keeps_sending_heartbeats(store_settings: dict[str, str]) -> None:
    lively = sy.Client(
        store_settings["uri"], artifacts=store_settings["artifacts"], heartbeat_interval=0.02, capture_environment=False
    )
    run = lively.start_run()

    def heartbeat_at() -> int:
        with lively.backend.store.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT heartbeat_at FROM runs").scalar_one())

    first, deadline = heartbeat_at(), time.monotonic() + 30
    while heartbeat_at() == first:  # waits for the event, bounded; never sleeps blind
        assert time.monotonic() < deadline, "no heartbeat was sent"
        threading.Event().wait(0.01)
    run.end()
    lively.close()


def test_deleting_restoring_and_purging_a_run_are_audited(client: sy.Client) -> None:
    with client.start_run(project="churn") as run:
        pass
    client.delete_run(run.id)
    client.delete_run(run.id)  # already deleted: no second event
    client.restore_run(run.id)
    client.delete_run(run.id)
    client.gc(grace=0)
    events = client.backend.registry.audit_events("churn", subject=f"run:{run.id}")
    assert [e.action for e in reversed(events)] == ["run.delete", "run.restore", "run.delete", "run.purge"]
    assert all(e.actor for e in events)
