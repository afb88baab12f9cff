"""Cron schedules: run pipelines when they are due, from any number of scheduler processes.

Cron expressions are read in **UTC**. Three promises, all kept by the metadata store rather than by
one process's memory:

- a due schedule runs once: a scheduler first takes the schedule's lease (see
  :mod:`shipyard.store.schedules`), and only one of two racing schedulers gets it;
- a long run keeps its lease: a background thread renews every held lease each third of its length,
  so a schedule is only taken over when its scheduler has died and the lease has expired;
- after downtime a schedule catches up once: when a run ends, the next run time is the first cron time
  strictly after *now*, not after the missed time, so missed periods are not replayed one by one.

>>> scheduler = Scheduler(client)
>>> scheduler.add("churn", "nightly", "pipelines.py:training", "0 3 * * *")
>>> scheduler.serve()  # or scheduler.tick() from your own loop
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core import validation as v
from shipyard.core.actor import current_actor
from shipyard.core.entities import Schedule
from shipyard.core.errors import InvalidInput, StoreError

if TYPE_CHECKING:
    from shipyard.backends.protocol import SchedulesBackend
    from shipyard.tracking import Client

RunTarget = Callable[["Client", str, Mapping[str, str], Mapping[str, Any]], tuple[str, str]]
"""``run(client, target, params, options) -> (pipeline run id, final status)``."""

OPTIONS = ("executor", "workers", "cache", "address")
EXAMPLE_CRON = "0 3 * * *"
MAX_CRON_LENGTH = 120  # the store's column
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one scheduled run came to: ``status`` is the run's final status, or ``failed`` if it raised."""

    schedule: Schedule
    run_id: str | None
    status: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def default_run(client: Client, target: str, params: Mapping[str, str], options: Mapping[str, Any]) -> tuple[str, str]:
    """Run ``target`` with the pipeline runner, as ``shipyard pipeline run`` does."""
    from shipyard.pipelines.targets import run_target

    run = run_target(
        client,
        target,
        params,
        executor=options.get("executor", "local"),
        workers=options.get("workers"),
        cache=options.get("cache", True),
        address=options.get("address"),
    )
    return str(run.id), str(run.status)


def check_cron(cron: str) -> str:
    """A five-field cron expression (or an ``@daily``-style alias), else ``InvalidInput``."""
    from croniter import croniter

    text = " ".join(str(cron).split())
    fields = len(text.split())
    well_formed = fields == 5 or (fields == 1 and text.startswith("@"))
    if not well_formed or len(text) > MAX_CRON_LENGTH or not croniter.is_valid(text):
        raise InvalidInput(
            f"{cron!r} is not a cron expression. Expected five fields, minute hour day-of-month month "
            f"day-of-week, read in UTC: e.g. {EXAMPLE_CRON!r} runs every day at 03:00 UTC, '*/15 * * * *' "
            "every 15 minutes."
        )
    return text


def next_time(cron: str, after: float) -> float:
    """The first time (seconds since the epoch) the UTC cron expression names strictly after ``after``."""
    from croniter import croniter

    return float(croniter(cron, datetime.fromtimestamp(after, UTC)).get_next(float))


def resolve_target(target: str, cwd: Path | None = None) -> str:
    """``path.py:pipeline`` with the path made absolute, so a scheduler can run it from any folder."""
    path, sep, name = str(target).rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise InvalidInput(
            f"The target {target!r} is not FILE:PIPELINE; expected the path of a Python file and the name of "
            "a pipeline in it, e.g. pipelines.py:training."
        )
    file = Path(path).expanduser()
    file = (file if file.is_absolute() else (cwd or Path.cwd()) / file).resolve()
    if not file.is_file():
        raise InvalidInput(
            f"The pipeline file {path!r} of target {target!r} does not exist (looked for {file}). "
            "Give the path of the Python file that defines the pipeline."
        )
    return f"{file}:{name}"


class Scheduler:
    """Runs the due schedules of one store. Any number may run at once, on any machines.

    ``run`` and ``clock`` are seams for tests and embedding: ``run`` starts a pipeline and returns its
    run id and final status (default: the pipeline runner); ``clock`` returns seconds since the epoch.
    """

    def __init__(
        self,
        client: Client,
        *,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        run: RunTarget | None = None,
        clock: Callable[[], float] = time.time,
        max_parallel: int = 4,
    ) -> None:
        if lease_seconds <= 0 or max_parallel < 1 or (owner is not None and not 0 < len(owner) <= 64):
            raise InvalidInput(
                "A scheduler needs lease_seconds > 0, max_parallel >= 1 and an owner of 1 to 64 characters; "
                f"got {lease_seconds}, {max_parallel} and {owner!r}."
            )
        self.client = client
        self.owner = owner or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self._run = run or default_run
        self._clock = clock
        self._max_parallel = max_parallel
        self._held: set[int] = set()
        self._held_lock = threading.Lock()

    @property
    def store(self) -> SchedulesBackend:
        return self.client.backend.schedules

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def add(
        self,
        project: str,
        name: str,
        target: str,
        cron: str,
        params: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Schedule:
        """Schedule ``target`` (``path.py:pipeline``) on a UTC cron expression; replaces one of the same name."""
        project = v.check_name(project, "project")
        name = v.check_name(name, "schedule")
        cron = check_cron(cron)
        checked_params = v.check_params(params)
        checked_options = dict(v.check_mapping(options))
        unknown = sorted(set(checked_options) - set(OPTIONS))
        if unknown:
            raise InvalidInput(f"Unknown schedule options {unknown}; the options are {', '.join(OPTIONS)}.")
        try:
            json.dumps(checked_options)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"Schedule options must be plain JSON values (text, numbers, true/false): {exc}."
            ) from exc
        return self.store.upsert(
            project,
            name,
            target=resolve_target(target),
            cron=cron,
            params=checked_params,
            options=checked_options,
            next_run_at=int(next_time(cron, self._clock()) * 1000),
            actor=current_actor(),
        )

    def tick(self) -> list[Outcome]:
        """Claim every due schedule nobody else holds, run them (in parallel), and release them."""
        claimed = self.store.claim_due(self._now_ms(), self.owner, int(self.lease_seconds * 1000))
        if not claimed:
            return []
        with self._held_lock:
            self._held.update(s.id for s in claimed)
        with self._renewing(), ThreadPoolExecutor(min(len(claimed), self._max_parallel)) as pool:
            return list(pool.map(self._run_one, claimed))

    def _run_one(self, schedule: Schedule) -> Outcome:
        try:
            run_id, status = self._run(self.client, schedule.target, schedule.params, schedule.options)
            outcome = Outcome(schedule, run_id, str(status))
        except (Exception, SystemExit) as exc:  # a user's pipeline may raise anything; the scheduler goes on
            log.warning("schedule %s/%s failed: %s: %s", schedule.project, schedule.name, type(exc).__name__, exc)
            outcome = Outcome(schedule, None, "failed", f"{type(exc).__name__}: {exc}")
        now = self._clock()
        try:
            kept = self.store.release(
                schedule.id,
                self.owner,
                run_id=outcome.run_id,
                status=outcome.status,
                finished_at=int(now * 1000),
                next_run_at=int(next_time(schedule.cron, now) * 1000),
                cron=schedule.cron,
            )
        finally:
            with self._held_lock:
                self._held.discard(schedule.id)
        if not kept:
            log.warning("schedule %s/%s: the lease was lost during the run", schedule.project, schedule.name)
        return outcome

    @contextmanager
    def _renewing(self) -> Iterator[None]:
        """Renew the held leases every third of a lease until the block ends."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease_seconds / 3):
                with self._held_lock:
                    held = sorted(self._held)
                until = self._now_ms() + int(self.lease_seconds * 1000)
                for schedule_id in held:
                    try:
                        self.store.renew(schedule_id, self.owner, until)
                    except StoreError as exc:  # try again next round; the lease outlives one miss
                        log.warning("could not renew the lease of schedule %s: %s", schedule_id, exc)

        thread = threading.Thread(target=renew, name="shipyard-lease-renewer", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def serve(
        self,
        stop: threading.Event | None = None,
        poll: float = 1.0,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        """Tick until ``stop`` is set, waking at the next due time or after ``poll`` seconds, whichever is first.

        ``on_outcome`` is called with each finished run. A store that cannot be reached for a while is
        logged and retried, not fatal.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                for outcome in self.tick():
                    if on_outcome is not None:
                        on_outcome(outcome)
                stop.wait(self._wait_seconds(poll))
            except StoreError as exc:
                log.warning("scheduler tick failed, retrying in %.1fs: %s", poll, exc)
                stop.wait(poll)

    def _wait_seconds(self, poll: float) -> float:
        now = self._now_ms()
        soonest = self.store.earliest_next_run(now)
        return poll if soonest is None else min(poll, (soonest - now) / 1000)
