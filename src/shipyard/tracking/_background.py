"""One background thread per client: flushes buffered metric points and sends heartbeats.

Points wait at most ``flush_interval`` seconds; running runs send a heartbeat every
``heartbeat_interval`` seconds, so a run whose process died reads ``crashed`` once it goes silent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.backends.protocol import RunsBackend
    from shipyard.tracking.run import Run


class Background:
    def __init__(self, store: RunsBackend, *, flush_interval: float, heartbeat_interval: float) -> None:
        self._store = store
        self._flush_interval = max(flush_interval, 0.01)
        self._heartbeat_interval = max(heartbeat_interval, 0.01)
        # Strong references: a run nobody holds any more must still have its points written and be ended.
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def register(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = run
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="shipyard-background", daemon=True)
                self._thread.start()

    def unregister(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run.id, None)

    def active_runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        next_heartbeat = time.monotonic() + self._heartbeat_interval
        while not self._stopped:
            self._wake.wait(min(self._flush_interval, max(next_heartbeat - time.monotonic(), 0.0)))
            if self._stopped:
                return
            runs = self.active_runs()
            for run in runs:
                run._flush_quietly()
            if time.monotonic() >= next_heartbeat:
                next_heartbeat = time.monotonic() + self._heartbeat_interval
                # A missed heartbeat is retried next time; it must never kill the thread.
                with contextlib.suppress(Exception):
                    self._store.heartbeat([run.id for run in runs])
