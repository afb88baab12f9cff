"""``shipyard pipeline schedule|schedules|unschedule`` and ``shipyard scheduler``.

Cron expressions are read in UTC, and every time these commands print is UTC too.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._output import console, print_json, table, text
from shipyard.cli._state import WEEK, open_client, require_project

if TYPE_CHECKING:
    from rich.table import Table

    from shipyard.core.entities import Schedule
    from shipyard.pipelines.schedule import Outcome

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", help="The project (default: the configured one).", show_default=False)
]


class Executor(enum.StrEnum):
    local = "local"
    ray = "ray"


def schedule(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="FILE.py:PIPELINE, e.g. pipelines.py:training.")],
    cron: Annotated[str, typer.Option("--cron", help='A cron expression in UTC, e.g. "0 3 * * *" (03:00 daily).')],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="The schedule's name (default: the pipeline's name).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A pipeline parameter as KEY=VALUE; repeat for more.")
    ] = None,
    executor: Annotated[Executor, typer.Option("--executor", help="Where the steps run.")] = Executor.local,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Steps run at once.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline on a cron schedule (UTC); scheduling the same name again replaces it."""
    from shipyard.pipelines.schedule import Scheduler, check_cron, resolve_target

    options: dict[str, Any] = {"executor": executor.value}
    if workers is not None:
        options["workers"] = workers
    # Mistakes are refused before a store is made for them.
    resolve_target(target)
    check_cron(cron)
    params = parse_params(param or [])
    with open_client(ctx, create=True) as client:  # a schedule needs nothing stored before it
        made = Scheduler(client).add(
            project or client.settings.project,
            name or target.rpartition(":")[2] or target,
            target,
            cron,
            params,
            options,
        )
    if as_json:
        print_json(made.to_dict())
        return
    typer.echo(
        f"Scheduled {made.name!r} in project {made.project!r}: {made.target} at {made.cron!r} (UTC); "
        f"next run {fmt_utc(made.next_run_at)}.\nRuns happen while `shipyard scheduler` is running."
    )


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, e.g. --param epochs=10; got {pair!r}.", param_hint="--param")
        params[key] = value
    return params


def schedules(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project (default: all projects).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List schedules: target, cron, next and last run (UTC), last status, and whether one is running now."""
    with open_client(ctx) as client:
        if project is not None:
            require_project(client, project)
        found = client.backend.schedules.list(project)
    if as_json:
        print_json({"schedules": [s.to_dict() for s in found]})
        return
    out = console()
    if not found:
        scope = f" in project {project!r}" if project else ""
        out.print(
            f"No schedules{scope}. Add one with `shipyard pipeline schedule FILE.py:PIPELINE --cron …`.", markup=False
        )
        return
    out.print(schedules_table(found, width=out.width))


def schedules_table(found: list[Schedule], *, width: int = 200) -> Table:
    """One row per schedule; ``status`` is ``running`` while a scheduler runs it, else the last run's status."""
    projects = sorted({s.project for s in found})
    one = projects[0] if len(projects) == 1 else None
    headers = ["name", "target", "cron", "next run", "last run", "status"]
    title = f"Schedules of project {one!r}, times in UTC" if one else "Schedules, times in UTC"
    grid = table(*(headers if one else ["project", *headers]), title=title)
    for column in grid.columns:
        # On a narrow terminal the target (a long path) folds and times wrap after the date; nothing is cut.
        column.no_wrap = column.header != "target"
        column.overflow = "fold"
        if column.header in ("next run", "last run") and width < 110:
            column.no_wrap, column.max_width = False, len("2025-01-31")
    for s in found:
        status = "running" if s.lease_owner else s.last_status or "-"
        cells = [
            text(s.name),
            text(s.target),
            text(s.cron),
            text(fmt_utc(s.next_run_at) if s.enabled else "paused"),
            text(fmt_utc(s.last_run_at)),
            text(status, {"running": "cyan", "finished": "green", "failed": "red"}.get(status, "")),
        ]
        grid.add_row(*(cells if one else [text(s.project), *cells]))
    return grid


def unschedule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The schedule's name, as `shipyard pipeline schedules` shows.")],
    project: ProjectOption = None,
) -> None:
    """Delete a schedule; a run in progress finishes, and no new one starts."""
    with open_client(ctx) as client:
        where = project or client.settings.project
        client.backend.schedules.delete(where, name)
    typer.echo(f"Unscheduled {name!r} in project {where!r}.")


def scheduler(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit (1 if a run failed).")] = False,
    poll: Annotated[
        float,
        typer.Option("--poll", min=0.1, max=WEEK, help="Seconds between looks for due schedules (at most a week)."),
    ] = 1.0,
) -> None:
    """Run scheduled pipelines when they are due, until stopped (Ctrl-C). Run as many as you like."""
    from shipyard.pipelines.schedule import Scheduler

    with open_client(ctx) as client:
        runner = Scheduler(client)
        if once:
            outcomes = runner.tick()
            for outcome in outcomes:
                report(outcome)
            if not outcomes:
                typer.echo("Nothing is due.")
            raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)
        typer.echo(f"Scheduler {runner.owner} started; polling every {poll:g}s. Stop with Ctrl-C.", err=True)
        try:
            runner.serve(poll=poll, on_outcome=report)
        except KeyboardInterrupt:
            typer.echo("Scheduler stopped.", err=True)


def report(outcome: Outcome) -> None:
    s = outcome.schedule
    line = f"{fmt_utc(int(datetime.now(UTC).timestamp() * 1000))}  {s.project}/{s.name}  {outcome.status}"
    if outcome.run_id:
        line += f"  run {outcome.run_id}"
    if outcome.error:
        line += f"  {outcome.error}"
    typer.echo(line)


def fmt_utc(millis: int | None) -> str:
    if millis is None:
        return "-"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def register(pipeline_app: typer.Typer, root_app: typer.Typer) -> None:
    """Add the schedule commands to ``shipyard pipeline`` and ``shipyard scheduler`` to the root app."""
    pipeline_app.command("schedule")(schedule)
    pipeline_app.command("schedules")(schedules)
    pipeline_app.command("unschedule")(unschedule)
    root_app.command("scheduler")(scheduler)
