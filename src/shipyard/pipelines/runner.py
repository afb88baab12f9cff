"""The coordinator: runs a pipeline's DAG on an executor, with caching, retries, timeouts and records.

A pipeline run is a parent run; each node gets a row (written before anything runs) and, when it runs,
a child run. A node becomes ready when everything it reads has succeeded; its cache key is computed
then (it covers its inputs' digests) and a hit reuses earlier outputs without dispatching anything. A
failed node (after its retries) fails the pipeline run and skips what depends on it, while independent
branches finish. ``resume`` runs a failed pipeline run again from its failed and skipped nodes.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, RunStatus, StepRecord, StepStatus
from shipyard.core.errors import Conflict, InvalidInput
from shipyard.core.ids import new_run_id
from shipyard.pipelines.cache import _is_project_local, cache_key, fingerprint
from shipyard.pipelines.definition import Dag, Node, OutputRef, Pipeline
from shipyard.pipelines.executors import Done, Executor, open_executor
from shipyard.pipelines.materialize import dataset_entry, load_input
from shipyard.pipelines.worker import StepResult, StepTask, end_crashed

if TYPE_CHECKING:
    from shipyard.tracking import Client, Run

TARGET_TAG = "shipyard.pipeline.target"
PARAMS_TAG = "shipyard.pipeline.params"
PIPELINE_TAG = "shipyard.pipeline"


@dataclass
class PipelineRun:
    """A finished pipeline run: its status, its nodes, and what the pipeline returned."""

    id: str
    pipeline: str
    project: str
    status: RunStatus
    steps: list[StepRecord]
    client: Client = field(repr=False)
    result_refs: Any = field(default=None, repr=False)

    @property
    def failed_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.status in (StepStatus.FAILED, StepStatus.CRASHED)]

    def step(self, node: str) -> StepRecord:
        for record in self.steps:
            if record.node == node:
                return record
        raise KeyError(node)

    def output(self, node: str, name: str = "output") -> Any:
        """The stored output of a node, loaded (a ``Dataset`` or ``Model`` handle, or the value)."""
        record = self.step(node)
        if not record.status.succeeded or record.outputs is None:
            raise Conflict(f"Step {node!r} of pipeline run {self.id} did not succeed ({record.status}); no output.")
        return load_input(self.client, record.outputs[name], None)

    @property
    def result(self) -> Any:
        """What the pipeline's body returned, with each step output loaded."""
        return _map_refs(self.result_refs, lambda ref: self.output(ref.node, ref.output))


def run_pipeline(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    cache: bool = True,
    address: str | None = None,
    client: Client | None = None,
) -> PipelineRun:
    """Build ``pipeline`` with ``params``, record it as a run, execute it and wait. Never raises for a failed step:
    the returned run says ``failed`` and which steps failed (``failed_steps``, each with its traceback)."""
    client = client or _default_client()
    values = pipeline.bind(params)
    dag = pipeline.build(values)
    order = dag.validate()
    project = pipeline.project or client.settings.project
    tags = {PIPELINE_TAG: pipeline.name, PARAMS_TAG: json.dumps(values, sort_keys=True, default=repr)}
    if pipeline.target:
        tags[TARGET_TAG] = pipeline.target
    # Connect first: a bad Ray address fails before anything is recorded.
    runner = open_executor(executor, **_options(workers, address))
    with _closing_on_error(runner):
        parent = client.start_run(project, pipeline.name, parent=None, tags=tags)
    with parent:
        if values:
            parent.log_params(values)
        client.backend.pipelines.add_nodes(
            parent.id, [(n, dag.nodes[n].step.name, dag.nodes[n].upstream) for n in order]
        )
        coordinator = _Coordinator(client, parent, dag, order, cache=cache, executor=runner)
        status = coordinator.run({})
        _end(client, parent, dag, coordinator, status)
    return _finish(client, parent, pipeline.name, dag, status)


def resume(
    client: Client, run_id: str, *, executor: str = "local", workers: int | None = None, address: str | None = None
) -> PipelineRun:
    """Run a failed pipeline run again from its failed and skipped steps, reusing the steps that succeeded."""
    from shipyard.pipelines.loader import load_pipeline

    record = client.get_run(run_id)
    target = record.tags.get(TARGET_TAG)
    if PIPELINE_TAG not in record.tags or record.parent_id is not None:
        raise InvalidInput(f"Run {run_id} is not a pipeline run; `shipyard pipeline runs` lists them.")
    if target is None:
        raise InvalidInput(
            f"Pipeline run {run_id} was started from Python, not from a file, so it cannot be reloaded; "
            "call the pipeline again (its cache reuses every step that succeeded)."
        )
    if record.status is RunStatus.FINISHED:
        raise Conflict(f"Pipeline run {run_id} finished; there is nothing to resume.")
    if record.status is RunStatus.RUNNING:
        raise Conflict(f"Pipeline run {run_id} is still running; wait for it, or for it to be marked crashed.")
    pipeline = load_pipeline(target)
    dag = pipeline.build(json.loads(record.tags.get(PARAMS_TAG, "{}")))
    order = dag.validate()
    nodes = client.backend.pipelines.nodes(run_id)
    if [n.node for n in nodes] != order:
        raise Conflict(
            f"Pipeline {pipeline.name!r} has other steps now than when run {run_id} ran; run it anew "
            "(the cache reuses every step whose code and inputs are unchanged)."
        )
    done = {n.node: dict(n.outputs or {}) for n in nodes if n.status.succeeded}
    runner = open_executor(executor, **_options(workers, address))
    with _closing_on_error(runner):
        parent = client.start_run(run_id=run_id)
    with parent:
        coordinator = _Coordinator(client, parent, dag, order, cache=True, executor=runner)
        status = coordinator.run(done)
        _end(client, parent, dag, coordinator, status)
    return _finish(client, parent, pipeline.name, dag, status)


def run_target(
    client: Client,
    target: str,
    params: Mapping[str, str] | None = None,
    *,
    executor: str = "local",
    workers: int | None = None,
    cache: bool = True,
    address: str | None = None,
) -> PipelineRun:
    """Load ``path.py:pipeline``, turn string ``params`` into typed values, and run it."""
    from shipyard.pipelines.loader import load_pipeline, parse_params

    pipeline = load_pipeline(target)
    values = parse_params(pipeline, params or {})
    return run_pipeline(
        pipeline, values, executor=executor, workers=workers, cache=cache, address=address, client=client
    )


def _end(client: Client, parent: Run, dag: Dag, coordinator: _Coordinator, status: RunStatus) -> None:
    """End the pipeline's run; scores the pipeline returns (an evaluation step's dict) become its metrics."""
    result = dag.result
    if isinstance(result, OutputRef) and status is RunStatus.FINISHED:
        entry = coordinator.outputs.get(result.node, {}).get(result.output, {})
        value = entry.get("value")
        if entry.get("kind") == "json" and isinstance(value, dict) and value:
            numbers = {
                str(k): float(v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if numbers:
                parent.log_metrics(numbers)
    parent.end(status)


def _finish(client: Client, parent: Run, name: str, dag: Dag, status: RunStatus) -> PipelineRun:
    steps = client.backend.pipelines.nodes(parent.id)
    return PipelineRun(parent.id, name, parent.project, status, steps, client, dag.result)


@contextlib.contextmanager
def _closing_on_error(executor: Executor) -> Iterator[None]:
    try:
        yield
    except BaseException:
        executor.close()
        raise


def _options(workers: int | None, address: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"workers": workers, "address": address}
    return {k: v for k, v in options.items() if v is not None}


def _map_refs(value: Any, load: Any) -> Any:
    if isinstance(value, OutputRef):
        return load(value)
    if isinstance(value, tuple | list):
        return type(value)(_map_refs(v, load) for v in value)
    if isinstance(value, dict):
        return {k: _map_refs(v, load) for k, v in value.items()}
    return value


def _default_client() -> Client:
    import shipyard

    return shipyard._client()


class _Coordinator:
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
        self.outputs: dict[str, dict[str, Any]] = {}
        self.status: dict[str, StepStatus] = {}
        self.attempts: dict[str, int] = {}
        self.running: dict[str, tuple[StepTask, float | None]] = {}  # key → (task, deadline)
        self.retry_at: dict[str, float] = {}
        self.queue: list[str] = []
        self.keys: dict[str, str] = {}  # node → cache key

    def run(self, done: Mapping[str, dict[str, Any]]) -> RunStatus:
        for node in self.order:
            if node in done:
                self.outputs[node] = dict(done[node])
                self.status[node] = StepStatus.FINISHED
            else:
                self.status[node] = StepStatus.PENDING
        try:
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
        import cloudpickle

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
        self.executor.submit(name, cloudpickle.dumps(task))

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
    if module is not None and module.__name__ != "__main__" and _is_project_local(node.step.fn):
        cloudpickle.register_pickle_by_value(module)
