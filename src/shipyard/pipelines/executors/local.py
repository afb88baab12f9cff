"""The local executor: a pool of worker processes, as many as the DAG can use, bounded by ``workers``.

Each step runs in a worker process, never in the coordinator: a step that leaks, crashes or is killed by
the OS (out of memory) takes only its worker down, which is seen (its exit code names the signal) and
replaced. A step past its timeout is stopped by killing its worker, which really stops it, whatever it
was doing. Workers are forked where the platform allows (milliseconds to start, and they inherit the
imported pipeline module) and are reused from step to step.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from shipyard.core.errors import InvalidInput
from shipyard.pipelines.executors.base import Done, Executor


def _serve(conn: Connection) -> None:
    from shipyard.pipelines.worker import run_task

    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not payload:  # asked to stop
            return
        conn.send_bytes(run_task(payload))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    key: str | None = None


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int | None = None, **_ignored: object) -> None:
        count = (os.cpu_count() or 1) if workers is None else workers
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidInput(f"workers must be a whole number >= 1; got {workers!r}.")
        self.capacity = count
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._context = multiprocessing.get_context(method)
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}

    def submit(self, key: str, payload: bytes) -> None:
        if len(self._busy) >= self.capacity:
            raise RuntimeError("LocalExecutor.submit beyond capacity")
        worker = self._idle.pop() if self._idle else self._start()
        worker.key = key
        self._busy[key] = worker
        with contextlib.suppress(OSError):  # the worker died since its last step: wait() reports a crash
            worker.conn.send_bytes(payload)

    def wait(self, timeout: float | None) -> list[Done]:
        if not self._busy:
            return []
        handles: dict[Any, _Worker] = {}
        for worker in self._busy.values():
            handles[worker.conn] = worker
            handles[worker.process.sentinel] = worker
        done: list[Done] = []
        for ready in wait(list(handles), timeout):
            worker = handles[ready]
            if worker.key is None or worker.key not in self._busy:
                continue  # already reported through its other handle
            key = worker.key
            result = self._receive(worker)
            del self._busy[key]
            worker.key = None
            if result is not None:
                self._idle.append(worker)
                done.append(Done(key, result=result))
            else:
                self._discard(worker)
                done.append(Done(key, crash=_death(worker.process)))
        return done

    def cancel(self, key: str) -> None:
        worker = self._busy.pop(key, None)
        if worker is not None:
            self._discard(worker)

    def close(self) -> None:
        # A forked worker holds copies of its siblings' pipes, so closing ours is no signal: say stop.
        for worker in self._idle:
            with contextlib.suppress(OSError):
                worker.conn.send_bytes(b"")
        for worker in [*self._idle, *self._busy.values()]:
            if worker.key is not None:
                worker.process.kill()  # still running a step: the coordinator has given up on it
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            with contextlib.suppress(OSError):
                worker.conn.close()
        self._idle.clear()
        self._busy.clear()

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(  # type: ignore[attr-defined]  # every concrete context has it
            target=_serve, args=(child,), daemon=True, name="shipyard-step"
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    @staticmethod
    def _receive(worker: _Worker) -> bytes | None:
        try:
            if worker.conn.poll():
                return worker.conn.recv_bytes()
        except (EOFError, OSError):
            pass
        return None

    @staticmethod
    def _discard(worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.conn.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()


def _death(process: BaseProcess) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the OS kills a process this way when memory runs out)" if -code == signal.SIGKILL else ""
        return f"the step's process was killed by {name}{hint}"
    return f"the step's process exited with code {code} before reporting a result"
