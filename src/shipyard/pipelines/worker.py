"""Running one step, wherever an executor puts it: a local worker process or a Ray task.

The executor hands over a ``StepTask`` as bytes and gets a ``StepResult`` back as bytes; everything else
goes through the store and the artifact store, which is therefore the only channel between steps. The
step's run is created here under an id the coordinator chose, so the coordinator can mark it crashed if
this process dies. Inside the step, ``sy.active_run()`` is the step's run and the module-level
functions (``sy.datasets``, ``sy.models``…) use the pipeline's store.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import RunStatus
from shipyard.core.errors import Conflict, InvalidInput, NotFound
from shipyard.pipelines.materialize import load_input, store_output
from shipyard.pipelines.types import Dataset, describe_value, type_name, value_matches

if TYPE_CHECKING:
    from shipyard.pipelines.definition import Step
    from shipyard.tracking import Client

_clients: dict[tuple[int, tuple[tuple[str, Any], ...]], Client] = {}
_MAX_CLIENTS = 4


class StepOutputError(InvalidInput):
    """A step returned a value its annotation does not allow."""


@dataclass
class StepTask:
    """Everything a worker needs to run one attempt of one step."""

    settings: dict[str, Any]
    project: str
    pipeline: str
    pipeline_run_id: str
    run_id: str
    node: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    attempt: int = 1
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    ok: bool
    outputs: dict[str, dict[str, Any]] | None = None
    error: str | None = None
    """The traceback of a failed step."""
    summary: str | None = None
    """One line: the exception's type and message."""


def run_task(payload: bytes) -> bytes:
    """The executors' entry point: a pickled ``StepTask`` in, a pickled ``StepResult`` out."""
    import cloudpickle

    return bytes(cloudpickle.dumps(execute(cloudpickle.loads(payload))))


def execute(task: StepTask) -> StepResult:
    client = _client(task.settings)
    tags = {"shipyard.pipeline": task.pipeline, "shipyard.step": task.step.name, **task.tags}
    summary = ""
    try:
        run = client.start_run(task.project, task.node, parent=task.pipeline_run_id, tags=tags, new_id=task.run_id)
    except Exception as exc:
        return StepResult(ok=False, error=traceback.format_exc(), summary=f"{type(exc).__name__}: {exc}")
    try:
        with run:
            try:
                outputs = _run_step(client, run, task)
            except BaseException as exc:
                summary = (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0][:500]
                with contextlib.suppress(Exception):
                    run.set_tag("shipyard.error", summary)
                raise
    except BaseException:
        return StepResult(ok=False, error=traceback.format_exc(), summary=summary)
    return StepResult(ok=True, outputs=outputs)


def _run_step(client: Client, run: Any, task: StepTask) -> dict[str, dict[str, Any]]:
    step = task.step
    if task.params:
        run.log_params(task.params)
    kwargs: dict[str, Any] = dict(task.params)
    train = None
    for param, entry in task.inputs.items():
        value = kwargs[param] = load_input(client, entry, step.param_types.get(param))
        if entry["kind"] == "dataset":
            version = (
                value.version
                if isinstance(value, Dataset)
                else client.datasets.get(entry["ref"], project=entry.get("project"))
            )
            run.use_dataset(version, role=param[:64])
            train = train if train is not None else version
    value = step.fn(**kwargs)
    values = _split(step, value)
    outputs = {}
    for (name, annotation), item in zip(step.outputs, values, strict=True):
        if not value_matches(item, annotation):
            raise StepOutputError(
                f"Step {step.name!r} returned {describe_value(item)} as {name!r}, but its annotation says "
                f"{type_name(annotation)}. Return a {type_name(annotation)} or change the annotation."
            )
        dataset_name = f"{task.pipeline}.{task.node}" + ("" if len(step.outputs) == 1 else f".{name}")
        outputs[name] = store_output(client, run, step, name, annotation, item, dataset_name=dataset_name, train=train)
    return outputs


def _split(step: Step, value: Any) -> list[Any]:
    if len(step.outputs) == 1:
        return [value]
    if not isinstance(value, tuple) or len(value) != len(step.outputs):
        raise StepOutputError(
            f"Step {step.name!r} is annotated to return a tuple of {len(step.outputs)} values; it returned "
            f"{describe_value(value)}{f' of {len(value)}' if isinstance(value, tuple) else ''}."
        )
    return list(value)


def _client(settings: Mapping[str, Any]) -> Client:
    """One client per worker process and store, made the process's default (for ``sy.*`` inside steps)."""
    from shipyard.tracking import Client
    from shipyard.tracking.default import set_default_client

    key = (os.getpid(), tuple(sorted(settings.items())))
    client = _clients.pop(key, None)
    if client is None:
        client = Client(**settings)
        # A long-lived worker (Ray's) serves many stores over its life: keep the few used last.
        while len(_clients) >= _MAX_CLIENTS:
            oldest = next(iter(_clients))
            with contextlib.suppress(Exception):
                _clients.pop(oldest).close()
    _clients[key] = client  # most recently used last
    set_default_client(client)
    return client


def end_crashed(client: Client, task: StepTask, reason: str) -> None:
    """Record a step whose process died: its run ends ``crashed`` (created first if it never started)."""
    store = client.backend.store
    try:
        store.get_run(task.run_id)
    except NotFound:
        store.create_run(
            task.run_id,
            project=task.project,
            name=task.node,
            parent_id=task.pipeline_run_id,
            tags_={"shipyard.pipeline": task.pipeline, "shipyard.step": task.step.name},
        )
    with contextlib.suppress(Conflict):  # the step ended its run before its process died
        store.write(task.run_id, tags_={"shipyard.error": reason[:1000]})
        store.end_run(task.run_id, RunStatus.CRASHED)


__all__ = ["StepResult", "StepTask", "end_crashed", "execute", "run_task"]
