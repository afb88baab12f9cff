"""The Ray executor: each step runs as a Ray task, on this machine or across a Ray cluster.

Ray is used for placement only: the coordinator keeps the DAG, caching, retries and timeouts, so tasks
are submitted with ``max_retries=0`` and one CPU each. A task whose worker dies (signal, out of memory,
lost node) is reported as a crash with Ray's reason; a step past its timeout is force-cancelled, which
kills its worker process, so the step really stops.

Where Ray runs:

- a Ray instance already initialised in this process (a notebook, a test) is reused, whatever ``address``
  says, and left running;
- ``address`` (``host:port``, ``auto``, ``ray://host:port``) connects to that cluster, after checking
  within seconds that something answers there; ``close`` drops this driver's connection, never the
  cluster;
- otherwise a local instance with ``workers`` CPUs is started for the run and stopped by ``close``.

Every Ray node needs Shipyard and the steps' libraries installed and must reach the store and the
artifact store: steps talk to each other only through them. The pipeline's own code travels by value.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Any

from shipyard.core.errors import InvalidInput, MissingDependency
from shipyard.pipelines.executors.base import Done, Executor
from shipyard.pipelines.worker import run_task

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Ray cluster's address to accept a connection (Ray itself retries for minutes)."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency.for_extra("ray", "ray", "The ray executor") from exc
    return ray


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, **_ignored: object) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise InvalidInput(f"workers must be a whole number >= 1; got {workers!r}.")
        ray = self._ray = _import_ray()
        self._initialised_here = False
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,  # Ray warns at length about settings a pipeline run cannot act on
            }
            if address is not None:
                _connect(ray, address, options)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
            self._initialised_here = True
        self.capacity = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=0)(run_task)
        self._refs: dict[str, Any] = {}  # key → ObjectRef

    def submit(self, key: str, payload: bytes) -> None:
        self._refs[key] = self._task.remote(payload)

    def wait(self, timeout: float | None) -> list[Done]:
        if not self._refs:
            return []
        ray = self._ray
        keys = {ref: key for key, ref in self._refs.items()}
        ready, _ = ray.wait(list(keys), num_returns=1, timeout=timeout)
        if not ready:
            return []
        ready, _ = ray.wait(list(keys), num_returns=len(keys), timeout=0)
        done: list[Done] = []
        for ref in ready:
            key = keys[ref]
            del self._refs[key]
            try:
                done.append(Done(key, result=ray.get(ref)))
            except ray.exceptions.RayError as exc:
                done.append(Done(key, crash=_crash_reason(ray, exc)))
        return done

    def cancel(self, key: str) -> None:
        ref = self._refs.pop(key, None)
        if ref is not None:
            self._ray.cancel(ref, force=True)  # kills the worker process: the step stops whatever it is doing

    def close(self) -> None:
        for key in list(self._refs):
            self.cancel(key)
        if self._initialised_here and self._ray.is_initialized():
            # Stops the local instance this executor started; for a cluster, only this driver's connection.
            self._ray.shutdown()
        self._initialised_here = False


def _connect(ray: Any, address: str, options: dict[str, Any]) -> None:
    """Connect to the cluster at ``address``, or say promptly that nothing answers there."""
    resolved = address
    try:
        if not address.startswith("ray://") and address != "local":
            resolved = _resolve(address)
            _probe(resolved)
        elif address.startswith("ray://"):
            _probe(address.removeprefix("ray://"))
        ray.init(address=address, **options)
    except Exception as exc:  # Ray's own connection errors vary by version and address kind
        with contextlib.suppress(Exception):
            ray.shutdown()  # a half-made connection
        where = address if resolved == address else f"{address} (resolved to {resolved})"
        raise InvalidInput(
            f"Cannot connect to a Ray cluster at {where}: {_first_line(exc).rstrip('.')}. "
            "Check the cluster with `ray status` on one of its nodes, or start one with `ray start --head` "
            "and pass the address it prints; without an address the pipeline runs on a local Ray instance."
        ) from exc


def _resolve(address: str) -> str:
    """``host:port`` for ``auto`` or a given address, as Ray would resolve it."""
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die
    except ImportError:  # a private helper: if a Ray release moves it, probe the address as given
        return address
    return str(canonicalize_bootstrap_address_or_die(address))


def _probe(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, e.g. 10.0.0.5:6379, or auto; got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except TimeoutError as exc:
        raise ConnectionError(f"no answer from {address} within {CONNECT_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise ConnectionError(f"{(exc.strerror or str(exc)).lower()} at {address}") from exc


def _crash_reason(ray: Any, exc: BaseException) -> str:
    errors = ray.exceptions
    if isinstance(exc, errors.OutOfMemoryError):
        return f"Ray killed the step's worker because its node ran out of memory: {_first_line(exc)}"
    if isinstance(exc, errors.WorkerCrashedError):
        return "the step's Ray worker process died before reporting a result (killed by a signal or out of memory)"
    if isinstance(exc, errors.TaskCancelledError):
        return "the step's Ray task was cancelled"
    if isinstance(exc, errors.NodeDiedError | errors.ObjectLostError | errors.OwnerDiedError):
        return f"the step's result was lost with its Ray node: {_first_line(exc)}"
    if isinstance(exc, errors.RayTaskError):
        # run_task catches the step's own exceptions, so this is Shipyard's side failing on the worker
        # (for example a module that cannot be imported there).
        cause = getattr(exc, "cause", None) or exc
        return f"the step's Ray task failed before running the step: {type(cause).__name__}: {_first_line(cause)}"
    return f"Ray reported {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]
