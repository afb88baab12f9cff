"""``shipyard pipeline …``: run a pipeline from a file, list and show pipeline runs, resume a failed one.

``run`` and ``resume`` exit 0 when every step succeeded and 1 when one failed (the run is recorded either
way, and ``resume`` picks it up); input errors exit 2 through the root command.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._output import console, plural, print_json
from shipyard.cli._state import open_client
from shipyard.core.entities import RunStatus, StepStatus
from shipyard.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from shipyard.core.entities import RunRecord, StepRecord
    from shipyard.tracking import Client

app = typer.Typer(help="Run pipelines and look at their runs.", no_args_is_help=True)


class Executor(enum.StrEnum):
    local = "local"
    ray = "ray"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
RunId = Annotated[str, typer.Argument(help="The pipeline run's id, as `shipyard pipeline runs` shows it.")]
ExecutorOption = Annotated[
    Executor, typer.Option("--executor", "-e", help="Where the steps run: worker processes here, or a Ray cluster.")
]
AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="The Ray cluster to connect to (ray://host:10001); only with --executor ray."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", min=1, help="Steps run at once (default: one per CPU).")
]


@app.command("run")
def run(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="FILE.py:PIPELINE, or FILE.py when the file defines one pipeline.", metavar="FILE.py[:PIPELINE]"
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A pipeline parameter as NAME=VALUE; repeat for more.", metavar="NAME=VALUE"),
    ] = None,
    executor: ExecutorOption = Executor.local,
    address: AddressOption = None,
    workers: WorkersOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step, even those whose code and inputs are unchanged.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline and print its steps; exit 1 if a step failed (then fix it and `resume`)."""
    from shipyard.pipelines.loader import load_pipeline, parse_assignments, parse_params
    from shipyard.pipelines.runner import run_pipeline

    _check_address(executor, address)
    # Every input error (the file, the pipeline's name, its parameters, its DAG) before "Running …":
    # building records the DAG and runs no step.
    pipeline = load_pipeline(target)
    values = parse_params(pipeline, parse_assignments(param or []))
    pipeline.build(values)
    with open_client(ctx, create=True) as client:  # records a new run: a store is made if none is found
        if not as_json:
            typer.echo(f"Running {target} on the {executor.value} executor…", err=True)
        done = run_pipeline(
            pipeline,
            values,
            executor=executor.value,
            workers=workers,
            cache=not no_cache,
            address=address,
            client=client,
        )
        _report(client, done.id, as_json=as_json, outcome=True)


@app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: RunId,
    executor: ExecutorOption = Executor.local,
    address: AddressOption = None,
    workers: WorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a failed pipeline run again from its failed and skipped steps; the steps that succeeded are kept.

    The pipeline file is imported again, so a fix made since the failure is picked up.
    """
    from shipyard.pipelines import targets

    _check_address(executor, address)
    with open_client(ctx) as client:
        _pipeline_run(client, run_id)  # a step's run id says which pipeline run to resume
        ready = targets.prepare_resume(client, run_id)  # every input error before "Resuming …"
        if not as_json:
            typer.echo(f"Resuming pipeline run {run_id} on the {executor.value} executor…", err=True)
        done = targets.resume(client, ready, executor=executor.value, workers=workers, address=address)
        _report(client, done.id, as_json=as_json, outcome=True)


@app.command("runs")
def list_runs(
    ctx: typer.Context,
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="Only this project (default: all projects).", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Recent pipeline runs, newest first, with a summary of their steps."""
    from shipyard.pipelines.runner import PARAMS_TAG

    with open_client(ctx) as client:
        # Step runs carry the pipeline's tag too; only the pipeline's own run carries its params.
        page = client.search_runs(project, f"tags.`{PARAMS_TAG}` LIKE '%'", max_results=limit)
        rows = [(record, client.backend.pipelines.nodes(record.id)) for record in page]
    from shipyard.cli import _pipeline_views as views

    if as_json:
        print_json({"runs": [views.pipeline_document(record, steps) for record, steps in rows]})
        return
    out = console()
    if not rows:
        where = f" in project {project!r}" if project else ""
        out.print(
            f"No pipeline runs{where} yet. Start one with `shipyard pipeline run FILE.py:PIPELINE`.", markup=False
        )
        return
    out.print(views.pipeline_runs_table(rows))


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: RunId,
    show_traceback: Annotated[
        bool, typer.Option("--traceback", help="Print the full traceback of every failed step.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """A pipeline run: its steps in DAG order with status, cache hits, attempts, timing and errors."""
    with open_client(ctx) as client:
        _report(client, run_id, as_json=as_json, tracebacks=show_traceback)


def _check_address(executor: Executor, address: str | None) -> None:
    if address is not None and executor is not Executor.ray:
        raise typer.BadParameter("--address names a Ray cluster; add --executor ray.", param_hint="--address")


def _pipeline_run(client: Client, run_id: str) -> RunRecord:
    """The run ``run_id``, if it is a pipeline's own run (not one of its steps' runs)."""
    from shipyard.pipelines.runner import PIPELINE_TAG

    record = client.get_run(run_id)
    if PIPELINE_TAG not in record.tags:
        raise InvalidInput(f"Run {run_id} is not a pipeline run; `shipyard pipeline runs` lists them.")
    if record.parent_id is not None:
        raise InvalidInput(
            f"Run {run_id} is the run of step {record.name!r} of pipeline run {record.parent_id}; "
            f"see the pipeline with `shipyard pipeline show {record.parent_id}`."
        )
    return record


def _report(client: Client, run_id: str, *, as_json: bool, outcome: bool = False, tracebacks: bool = False) -> None:
    """Print a pipeline run; with ``outcome`` (after ``run``/``resume``), say what next and exit 1 if it failed."""
    from shipyard.cli import _pipeline_views as views

    record = _pipeline_run(client, run_id)
    steps = client.backend.pipelines.nodes(run_id)
    failed = outcome and record.status is not RunStatus.FINISHED
    if as_json:
        print_json(views.pipeline_document(record, steps))
    else:
        out = console()
        for part in views.pipeline_detail(record, steps, _cache_sources(client, steps), tracebacks=tracebacks):
            out.print(part)
            out.print()
        if failed:
            for line in _next_steps(record, steps):
                out.print(line, markup=False, style="dim")
    if failed:
        raise typer.Exit(1)


def _cache_sources(client: Client, steps: list[StepRecord]) -> dict[str, str | None]:
    """For each cached node, the pipeline run that produced the outputs it reused (None if that run is gone)."""
    sources: dict[str, str | None] = {}
    for step in steps:
        if step.status is StepStatus.CACHED and step.run_id is not None:
            try:
                sources[step.node] = client.get_run(step.run_id).parent_id
            except NotFound:
                sources[step.node] = None
    return sources


def _next_steps(record: RunRecord, steps: list[StepRecord]) -> list[str]:
    broken = [step.node for step in steps if step.status in (StepStatus.FAILED, StepStatus.CRASHED)]
    names = ", ".join(repr(node) for node in broken)
    failed = f": {plural(len(broken), 'step')} failed ({names})" if broken else ""
    return [
        f"Pipeline run {record.id} {record.status.value}{failed}.",
        f"Tracebacks: shipyard pipeline show {record.id} --traceback",
        f"After a fix, rerun only what failed: shipyard pipeline resume {record.id}",
    ]
