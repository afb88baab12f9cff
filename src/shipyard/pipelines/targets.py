"""Running a pipeline named by its file (``path.py:pipeline``), and resuming a run that was started that way.

The file is imported here (``loader``), so these sit above ``Pipeline`` and the runner: the runner runs
a pipeline it is handed and never imports a file itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shipyard.core.entities import RunStatus
from shipyard.core.errors import Conflict, InvalidInput
from shipyard.pipelines.loader import load_pipeline, parse_params
from shipyard.pipelines.runner import (
    PARAMS_TAG,
    PIPELINE_TAG,
    TARGET_TAG,
    PipelineRun,
    Resumable,
    resume_prepared,
    run_pipeline,
)

if TYPE_CHECKING:
    from shipyard.tracking import Client


def prepare_resume(client: Client, run_id: str) -> Resumable:
    """Every input error of a resume (the run's state, its file, its pipeline and DAG), before anything runs."""
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
    return Resumable(run_id, pipeline, dag, order, done)


def resume(
    client: Client,
    run_id: str | Resumable,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
) -> PipelineRun:
    """Run a failed pipeline run again from its failed and skipped steps, reusing the steps that succeeded.

    ``run_id`` may be what ``prepare_resume`` returned, so that a caller reports input errors first.
    """
    ready = prepare_resume(client, run_id) if isinstance(run_id, str) else run_id
    return resume_prepared(client, ready, executor=executor, workers=workers, address=address)


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
    pipeline = load_pipeline(target)
    values = parse_params(pipeline, params or {})
    return run_pipeline(
        pipeline, values, executor=executor, workers=workers, cache=cache, address=address, client=client
    )


__all__ = ["prepare_resume", "resume", "run_target"]
