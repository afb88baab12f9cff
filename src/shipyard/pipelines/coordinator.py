"""Executing a DAG: what runs next, cache hits, retries with backoff, timeouts, and a record of every transition.

A node becomes ready when everything it reads has succeeded; its cache key is computed then (it covers
its inputs' digests) and a hit reuses earlier outputs without dispatching anything. A failed node (after
its retries) skips what depends on it while independent branches go on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core._progress import Tick, progress
from shipyard.core.entities import DatasetVersion, RunStatus, StepStatus
from shipyard.core.ids import new_run_id
from shipyard.pipelines.cache import cache_key, fingerprint, is_project_local
from shipyard.pipelines.definition import Dag, Node
from shipyard.pipelines.executors import Done, Executor
from shipyard.pipelines.materialize import dataset_entry
from shipyard.pipelines.worker import StepResult, StepTask, end_crashed

if TYPE_CHECKING:
    from shipyard.tracking import Client, Run


class Coordinator:
    """One execution of a DAG: decides what runs next and records every transition."""

    def __init__(
        self,
        client: Client,
        parent: Run,
        dag: Dag,
        order: list[str],
        *,
        cache: bool,
        executor: Executor,
    ) -> None:
        self.client = client
        self.store = client.backend.pipelines
        self.parent = parent
        self.dag = dag
        self.order = order
        self.cache = cache
        self.executor = executor
        self.settings = {
            "uri": client.settings.uri,
            "artifacts": client.settings.artifacts,
            "capture_environment": client.settings.capture_environment,
        }
        if client.settings.token:  # a server's: the steps' processes act as the same user
            self.settings["token"] = client.settings.token
        self.outputs: dict[str, dict[str, Any]] = {}
        self.status: dict[str, StepStatus] = {}
        self.attempts: dict[str, int] = {}
        self.running: dict[str, tuple[StepTask, float | None]] = {}  # key → (task, deadline)
        self.retry_at: dict[str, float] = {}
        self.queue: list[str] = []
        self.keys: dict[str, str] = {}  # node → cache key
        self._tick: Tick = lambda done, total=None, note="": None  # drawn in a notebook while ``run`` lasts

    def run(self, done: Mapping[str, dict[str, Any]]) -> RunStatus:
        for node in self.order:
            if node in done:
                self.outputs[node] = dict(done[node])
                self.status[node] = StepStatus.FINISHED
            else:
                self.status[node] = StepStatus.PENDING
        try:
            with progress(f"pipeline {self.parent.name}", total=len(self.order), unit="steps") as self._tick:
                self._loop()
        finally:
            for key, (task, _deadline) in list(self.running.items()):
                self.executor.cancel(key)
                end_crashed(self.client, task, "the pipeline run was interrupted")
            self.executor.close()
        ok = all(self.status[n].succeeded for n in self.order)
        return RunStatus.FINISHED if ok else RunStatus.FAILED

    def _loop(self) -> None:
        while True:
            self._advance()
            self._tick(sum(s not in (StepStatus.PENDING, StepStatus.RUNNING) for s in self.status.values()))
            if not self.running and not self.queue and not self.retry_at:
                return
            for done in self.executor.wait(self._wait_timeout()) if self.running else self._sleep():
                self._handle(done)
            self._expire()

    def _sleep(self) -> list[Done]:
        time.sleep(max(0.0, min(self.retry_at.values(), default=time.monotonic()) - time.monotonic()))
        return []

    def _wait_timeout(self) -> float | None:
        moments = [d for _t, d in self.running.values() if d is not None] + list(self.retry_at.values())
        return None if not moments else max(0.0, min(moments) - time.monotonic())

    def _advance(self) -> None:
        """Queue newly ready nodes (settling cache hits at once), then submit what the executor can take."""
        progressed = True
        while progressed:
            progressed = False
            for node in self.order:
                waiting = self.status[node] is StepStatus.PENDING and node not in self.queue
                if waiting and node not in self.retry_at and self._inputs_ready(node):
                    progressed |= self._ready(node)
        now = time.monotonic()
        for node, at in list(self.retry_at.items()):
            if at <= now:
                del self.retry_at[node]
                self.queue.append(node)
        while self.queue and len(self.running) < self.executor.capacity:
            self._submit(self.queue.pop(0))

    def _inputs_ready(self, name: str) -> bool:
        return all(self.status[u].succeeded for u in self.dag.nodes[name].upstream)

    def _ready(self, name: str) -> bool:
        """Settle ``name`` from the cache (True) or queue it to run (False)."""
        node = self.dag.nodes[name]
        key = cache_key(self.parent.project, fingerprint(node.step), node.params, self._input_digests(node))
        hit = self.store.find_cached(key) if self.cache and node.step.cache else None
        if hit is not None and self._still_stored(hit[1]):
            run_id, outputs = hit
            now = int(time.time() * 1000)
            self.store.update_node(
                self.parent.id,
                name,
                status=StepStatus.CACHED,
                run_id=run_id,
                error=None,
                attempts=0,
                cache_key=key,
                outputs=outputs,
                started_at=now,
                ended_at=now,
            )
            self.outputs[name] = outputs
            self.status[name] = StepStatus.CACHED
            return True
        self.attempts.setdefault(name, 0)
        self.queue.append(name)
        self.keys[name] = key
        return False

    def _still_stored(self, outputs: Mapping[str, Any]) -> bool:
        blobs = self.client.backend.blobs
        return all(entry["kind"] == "dataset" or blobs.exists(entry["digest"]) for entry in outputs.values())

    def _input_digests(self, node: Node) -> dict[str, str]:
        digests = {}
        for param, ref in node.inputs.items():
            if isinstance(ref, DatasetVersion):
                digests[param] = ref.digest
            else:
                digests[param] = self.outputs[ref.node][ref.output]["digest"]
        return digests

    def _inputs(self, node: Node) -> dict[str, dict[str, Any]]:
        entries = {}
        for param, ref in node.inputs.items():
            entries[param] = (
                dataset_entry(ref) if isinstance(ref, DatasetVersion) else self.outputs[ref.node][ref.output]
            )
        return entries

    def _submit(self, name: str) -> None:
        from shipyard.pipelines._pickling import dumps

        node = self.dag.nodes[name]
        self.attempts[name] += 1
        attempt = self.attempts[name]
        task = StepTask(
            settings=self.settings,
            project=self.parent.project,
            pipeline=self.dag.pipeline,
            pipeline_run_id=self.parent.id,
            run_id=new_run_id(),
            node=name,
            step=node.step,
            params=node.params,
            inputs=self._inputs(node),
            attempt=attempt,
            tags={"shipyard.step.attempt": str(attempt)},
        )
        if self.executor.name != "local":
            _share_code(node)
        self.status[name] = StepStatus.RUNNING
        self.store.update_node(
            self.parent.id,
            name,
            status=StepStatus.RUNNING,
            run_id=task.run_id,
            cache_key=self.keys.get(name),
            attempts=attempt,
            started_at=int(time.time() * 1000),
        )
        deadline = None if node.step.timeout is None else time.monotonic() + node.step.timeout
        self.running[name] = (task, deadline)
        self.executor.submit(name, dumps(task))

    def _handle(self, done: Done) -> None:
        import cloudpickle

        task, _deadline = self.running.pop(done.key)
        if done.crash is not None:
            end_crashed(self.client, task, done.crash)
            self._failed(task, StepStatus.CRASHED, done.crash, done.crash)
            return
        assert done.result is not None
        result: StepResult = cloudpickle.loads(done.result)
        if result.ok:
            self.outputs[task.node] = result.outputs or {}
            self.status[task.node] = StepStatus.FINISHED
            self.store.update_node(
                self.parent.id,
                task.node,
                status=StepStatus.FINISHED,
                outputs=self.outputs[task.node],
                error=None,
                ended_at=int(time.time() * 1000),
            )
        else:
            self._failed(task, StepStatus.FAILED, result.error or "", result.summary or "the step failed")

    def _expire(self) -> None:
        now = time.monotonic()
        for key, (task, deadline) in list(self.running.items()):
            if deadline is not None and deadline <= now:
                self.executor.cancel(key)
                del self.running[key]
                reason = f"TimeoutError: step {task.step.name!r} ran longer than its timeout of {task.step.timeout:g} s"
                end_crashed(self.client, task, reason)
                self._failed(task, StepStatus.FAILED, reason, reason)

    def _failed(self, task: StepTask, status: StepStatus, error: str, summary: str) -> None:
        node = self.dag.nodes[task.node]
        now = int(time.time() * 1000)
        if task.attempt <= node.step.retries:
            delay = node.step.retry_delay * 2 ** (task.attempt - 1)
            self.status[task.node] = StepStatus.PENDING
            self.retry_at[task.node] = time.monotonic() + delay
            self.store.update_node(self.parent.id, task.node, status=StepStatus.PENDING, error=error)
            return
        self.status[task.node] = status
        self.store.update_node(self.parent.id, task.node, status=status, error=error, ended_at=now)
        for name in self.dag.downstream(task.node):
            if self.status[name] is StepStatus.PENDING:
                self.status[name] = StepStatus.SKIPPED
                self.store.update_node(
                    self.parent.id,
                    name,
                    status=StepStatus.SKIPPED,
                    error=f"skipped: step {task.node!r} failed ({summary})",
                )


def _share_code(node: Node) -> None:
    """Workers on other machines cannot import the user's modules: send their code by value."""
    import cloudpickle

    module = sys.modules.get(node.step.fn.__module__)
    if module is not None and module.__name__ != "__main__" and is_project_local(node.step.fn):
        cloudpickle.register_pickle_by_value(module)
