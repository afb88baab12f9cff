"""The scheduler with a fake clock and a fake runner: due schedules run once, from one scheduler only."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import shipyard as sy
from shipyard.pipelines.schedule import Outcome, Scheduler

T0 = 1_700_000_100.0  # a multiple of five minutes
EVERY_5_MIN = "*/5 * * * *"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A fake ``run``: records each call and answers with a run id and ``finished``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(
        self, client: sy.Client, target: str, params: Mapping[str, str], options: Mapping[str, Any]
    ) -> tuple[str, str]:
        with self.lock:
            self.calls.append(target)
            return f"run-{len(self.calls)}", "finished"


@pytest.fixture
def client(store_settings: dict[str, str]) -> Iterator[sy.Client]:
    """On SQLite and PostgreSQL (the pipeline tests' own ``client`` is SQLite only): leases are the store's job."""
    made = sy.Client(store_settings["uri"], artifacts=store_settings["artifacts"], capture_environment=False)
    yield made
    made.close()


@pytest.fixture
def target(tmp_path: Path) -> str:
    (tmp_path / "flows.py").write_text("# a pipeline file\n")
    return f"{tmp_path / 'flows.py'}:train"


def scheduler(client: sy.Client, clock: Clock, run: Any, owner: str = "a", **kwargs: Any) -> Scheduler:
    return Scheduler(client, owner=owner, run=run, clock=clock, **kwargs)


def test_a_due_schedule_runs_once(client: sy.Client, target: str) -> None:
    clock, run = Clock(), Recorder()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN, {"epochs": 3})
    clock.now = T0 + 300
    [outcome] = scheduler(client, clock, run).tick()
    assert (outcome.run_id, outcome.status, run.calls) == ("run-1", "finished", [target])
    assert scheduler(client, clock, run).tick() == []
    done = client.backend.schedules.get("churn", "nightly")
    assert (done.last_run_id, done.last_status, done.lease_owner, done.next_run_at) == (
        "run-1",
        "finished",
        None,
        (T0 + 600) * 1000,
    )


def test_a_schedule_not_yet_due_does_not_run(client: sy.Client, target: str) -> None:
    clock, run = Clock(), Recorder()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 299
    assert scheduler(client, clock, run).tick() == []
    assert run.calls == []


def test_two_schedulers_racing_run_a_due_schedule_once(client: sy.Client, target: str) -> None:
    clock, run = Clock(), Recorder()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 300
    racers = [scheduler(client, clock, run, owner) for owner in ("a", "b")]
    barrier, outcomes = threading.Barrier(2), list[Outcome]()

    def race(racer: Scheduler) -> None:
        barrier.wait()
        outcomes.extend(racer.tick())

    threads = [threading.Thread(target=race, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 1 and run.calls == [target]


def test_after_downtime_a_schedule_catches_up_once(client: sy.Client, target: str) -> None:
    clock, run = Clock(), Recorder()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 10 * 300 + 17  # ten periods missed
    assert len(scheduler(client, clock, run).tick()) == 1
    assert scheduler(client, clock, run).tick() == []
    assert client.backend.schedules.get("churn", "nightly").next_run_at == (T0 + 11 * 300) * 1000


def test_a_failing_run_is_recorded_and_the_schedule_stays_enabled(client: sy.Client, target: str) -> None:
    def boom(*args: Any) -> tuple[str, str]:
        raise RuntimeError("the data was late")

    clock = Clock()
    scheduler(client, clock, boom).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 300
    [outcome] = scheduler(client, clock, boom).tick()
    assert not outcome.ok and outcome.error == "RuntimeError: the data was late"
    failed = client.backend.schedules.get("churn", "nightly")
    assert (failed.last_status, failed.enabled, failed.lease_owner) == ("failed", True, None)
    assert failed.next_run_at > clock.now * 1000


def test_a_bad_cron_expression_is_invalid_input_and_nothing_is_stored(client: sy.Client, target: str) -> None:
    with pytest.raises(sy.InvalidInput, match=r"'every day' is not a cron expression.*'0 3 \* \* \*'"):
        scheduler(client, Clock(), Recorder()).add("churn", "nightly", target, "every day")
    assert client.backend.schedules.list() == []


def test_a_missing_pipeline_file_is_invalid_input(client: sy.Client, tmp_path: Path) -> None:
    with pytest.raises(sy.InvalidInput, match="does not exist"):
        scheduler(client, Clock(), Recorder()).add("churn", "nightly", f"{tmp_path / 'nope.py'}:train", "0 3 * * *")


def test_an_expired_lease_lets_another_scheduler_take_over(client: sy.Client, target: str) -> None:
    clock, run = Clock(), Recorder()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 300
    client.backend.schedules.claim_due(int(clock.now * 1000), "died", 60_000)  # claimed, never released
    assert scheduler(client, clock, run, "b").tick() == []
    clock.now += 61
    assert [o.status for o in scheduler(client, clock, run, "b").tick()] == ["finished"]


def test_a_long_run_renews_its_lease(client: sy.Client, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock, store, renewed = Clock(), client.backend.schedules, threading.Event()
    scheduler(client, clock, Recorder()).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 300
    claimed_until = int(clock.now * 1000) + 300  # as the claim computes it
    real_renew = store.renew

    def renew(schedule_id: int, owner: str, lease_until: int) -> bool:
        held = real_renew(schedule_id, owner, lease_until)
        if lease_until > claimed_until:
            renewed.set()
        return held

    def long_run(*args: Any) -> tuple[str, str]:
        clock.now += 0.25  # most of the first lease has passed
        assert renewed.wait(30)
        clock.now += 0.15  # the first lease has run out, the renewed one has not
        assert scheduler(client, clock, Recorder(), "b").tick() == []
        return "run-1", "finished"

    monkeypatch.setattr(store, "renew", renew)
    [outcome] = scheduler(client, clock, long_run, lease_seconds=0.3).tick()
    assert outcome.ok, outcome.error


def test_serve_runs_due_schedules_until_stopped(client: sy.Client, target: str) -> None:
    clock, run, stop = Clock(), Recorder(), threading.Event()
    scheduler(client, clock, run).add("churn", "nightly", target, EVERY_5_MIN)
    clock.now = T0 + 300
    seen: list[Outcome] = []

    def on_outcome(outcome: Outcome) -> None:
        seen.append(outcome)
        stop.set()

    scheduler(client, clock, run).serve(stop, poll=0.01, on_outcome=on_outcome)
    assert [o.status for o in seen] == ["finished"] and run.calls == [target]


def test_the_default_runner_runs_a_pipeline_file(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(
        "import shipyard as sy\n\n@sy.step\ndef double(x: int) -> int:\n    return 2 * x\n\n"
        '@sy.pipeline(project="p")\ndef twice(x: int = 2):\n    return double(x)\n'
    )
    clock = Clock()
    Scheduler(client, clock=clock).add("p", "twice", f"{tmp_path / 'flows.py'}:twice", EVERY_5_MIN, {"x": "3"})
    clock.now = T0 + 300
    [outcome] = Scheduler(client, clock=clock).tick()
    assert outcome.status == "finished", outcome.error
    assert client.backend.schedules.get("p", "twice").last_run_id == outcome.run_id
