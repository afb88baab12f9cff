"""Running a pipeline: build and check its DAG, record the run, execute it on an executor, report.

A pipeline run is a parent run; each node gets a row (written before anything runs) and, when it runs,
a child run. The ``Coordinator`` decides what runs when. A failed step fails the pipeline run without
raising; ``resume`` runs a failed pipeline run again from its failed and skipped nodes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import RunStatus, StepRecord, StepStatus
from shipyard.core.errors import Conflict
from shipyard.pipelines.coordinator import Coordinator
from shipyard.pipelines.definition import Dag, OutputRef
from shipyard.pipelines.executors import Executor, open_executor
from shipyard.pipelines.materialize import load_input

if TYPE_CHECKING:
    from shipyard.pipelines._pipeline import Pipeline
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
        coordinator = Coordinator(client, parent, dag, order, cache=cache, executor=runner)
        status = coordinator.run({})
        _end(client, parent, dag, coordinator, status)
    return _finish(client, parent, pipeline.name, dag, status)


@dataclass(frozen=True)
class Resumable:
    """A failed pipeline run checked and reloaded, ready to ``resume``: its file imported, its DAG built."""

    run_id: str
    pipeline: Pipeline
    dag: Dag
    order: list[str]
    done: dict[str, dict[str, Any]]


def resume_prepared(
    client: Client,
    ready: Resumable,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
) -> PipelineRun:
    """Run a failed pipeline run, checked and reloaded by ``targets.prepare_resume``, from its failed steps."""
    runner = open_executor(executor, **_options(workers, address))
    with _closing_on_error(runner):
        parent = client.start_run(run_id=ready.run_id)
    with parent:
        coordinator = Coordinator(client, parent, ready.dag, ready.order, cache=True, executor=runner)
        status = coordinator.run(ready.done)
        _end(client, parent, ready.dag, coordinator, status)
    return _finish(client, parent, ready.pipeline.name, ready.dag, status)


def _end(client: Client, parent: Run, dag: Dag, coordinator: Coordinator, status: RunStatus) -> None:
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
    from shipyard.tracking.default import default_client

    return default_client()
