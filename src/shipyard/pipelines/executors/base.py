"""The executor seam: run opaque step payloads somewhere, report when each is done, stop one on demand.

The coordinator owns everything else (the DAG, caching, retries, timeouts, records), so an executor is
small: ``submit`` a payload under a key, ``wait`` for finished keys, ``cancel`` a key (its process is
stopped for good and no ``Done`` comes for it), ``close``. A payload is a pickled
``shipyard.pipelines.worker.StepTask``; running it means calling ``shipyard.pipelines.worker.run_task``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    """A finished payload: the worker's pickled result, or why its process died without one."""

    key: str
    result: bytes | None = None
    crash: str | None = None


class Executor(ABC):
    name: str = ""
    capacity: int = 1
    """How many payloads may run at once."""

    @abstractmethod
    def submit(self, key: str, payload: bytes) -> None: ...

    @abstractmethod
    def wait(self, timeout: float | None) -> list[Done]:
        """Payloads that finished; waits up to ``timeout`` seconds (None: until one does) if none has yet."""

    @abstractmethod
    def cancel(self, key: str) -> None:
        """Stop a running payload for good (a timeout); no ``Done`` is reported for it."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
