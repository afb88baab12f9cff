"""``shipyard runs``: list, show, compare, delete and restore runs."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._output import confirm, console, fmt_seconds, plural, print_json
from shipyard.cli._state import open_client

app = typer.Typer(help="List, inspect, compare, delete and restore runs.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunIds = Annotated[list[str], typer.Argument(help="Run ids (32 hex characters, as `shipyard runs list` shows).")]


@app.command("list")
def list_runs(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project (default: all projects).")
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.penalty = 'l2'\".")
    ] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc DESC'; repeat for more keys.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", "-n", help="Runs per page.")] = 100,
    page_token: Annotated[str | None, typer.Option("--page-token", help="Token printed under the last page.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted runs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List runs, newest first."""
    with open_client(ctx) as client:
        page = client.search_runs(project, filter_, order_by, max_results, page_token, include_deleted=deleted)
    if as_json:
        print_json({"runs": [run.to_dict() for run in page], "next_page_token": page.next_page_token})
        return
    out = console()
    if not page:
        if page_token or filter_ or project:
            out.print("No runs match." if not page_token else "No more runs.", markup=False)
        else:
            out.print("No runs yet. Start one with shipyard.start_run(), then list it here.", markup=False)
        return
    from shipyard.cli._views import runs_table

    out.print(runs_table(page, width=out.width))
    if page.next_page_token:
        out.print(f"More runs: repeat the command with --page-token {page.next_page_token}", markup=False, style="dim")


@app.command("show")
def show(
    ctx: typer.Context, run_id: Annotated[str, typer.Argument(help="The run's id.")], as_json: JsonOption = False
) -> None:
    """Show one run: attributes, params, latest metrics, tags, environment and artifacts."""
    with open_client(ctx) as client:
        run = client.get_run(run_id)
        artifacts = client.list_artifacts(run_id)
    if as_json:
        data = run.to_dict()
        data["artifacts"] = [{"path": a.path, "digest": a.digest, "size": a.size} for a in artifacts]
        print_json(data)
        return
    from shipyard.cli._views import run_detail

    out = console()
    for part in run_detail(run, artifacts):
        out.print(part)
        out.print()


@app.command("compare")
def compare(ctx: typer.Context, run_ids: RunIds, as_json: JsonOption = False) -> None:
    """Params and latest metrics side by side; differing params highlighted, metric deltas against the first run."""
    if len(run_ids) < 2:
        raise typer.BadParameter(f"give at least two run ids to compare; got {len(run_ids)}.", param_hint="RUN_IDS")
    from shipyard.cli._views import comparison, comparison_table

    with open_client(ctx) as client:
        data = comparison([client.get_run(run_id) for run_id in run_ids])
    if as_json:
        print_json(data)
    elif not data["params"] and not data["metrics"]:
        console().print("These runs logged no params and no metrics.", markup=False)
    else:
        console().print(comparison_table(data))


@app.command("delete")
def delete(
    ctx: typer.Context,
    run_ids: RunIds,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Soft-delete runs: hidden from listings, restorable until `shipyard gc` purges them after the grace period."""
    with open_client(ctx) as client:
        runs = [client.get_run(run_id) for run_id in dict.fromkeys(run_ids)]  # all exist, or nothing changes
        todo = [run for run in runs if not run.deleted]
        names = ", ".join(f"{run.name} ({run.id})" for run in todo)
        count = plural(len(todo), "run")
        if todo and not yes and not confirm(f"Delete {count}: {names}?", action=f"delete {count}"):
            typer.echo("Nothing deleted.", err=True)
            raise typer.Exit(1)
        for run in todo:
            client.delete_run(run.id)
        grace = client.settings.gc_grace
    if as_json:
        print_json({"deleted": [run.id for run in todo], "already_deleted": [run.id for run in runs if run.deleted]})
        return
    for run in runs:
        if run.deleted:
            typer.echo(f"Run {run.id} was already deleted.")
    if todo:
        ids = " ".join(run.id for run in todo)
        typer.echo(
            f"Deleted {plural(len(todo), 'run')}. Undo with: shipyard runs restore {ids}\n"
            f"`shipyard gc` purges deleted runs for good once they have been deleted for {fmt_seconds(grace)}."
        )


@app.command("restore")
def restore(ctx: typer.Context, run_ids: RunIds, as_json: JsonOption = False) -> None:
    """Bring back deleted runs (until `shipyard gc` has purged them)."""
    with open_client(ctx) as client:
        runs = [client.get_run(run_id) for run_id in dict.fromkeys(run_ids)]
        todo = [run for run in runs if run.deleted]
        for run in todo:
            client.restore_run(run.id)
    if as_json:
        print_json({"restored": [run.id for run in todo], "not_deleted": [run.id for run in runs if not run.deleted]})
        return
    for run in runs:
        typer.echo(f"Restored run {run.id}." if run.deleted else f"Run {run.id} was not deleted; nothing to do.")
