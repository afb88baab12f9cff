"""``shipyard demo``: the whole loop — train, gate, serve, drift, alert, retrain, canary, promote — in a folder.

It writes ``shipyard.toml``, ``pipelines.py``, a ``.shipyard`` store and ``reports/`` into ``--dir``, which
must be new, empty, or an earlier demo's (started afresh); anything else exits 2. Exit 1 when the story did
not reach its ending (a retrained champion promoted by the loop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Where to write the demo: a new or empty folder, or an earlier demo's.")
    ] = Path("shipyard-demo"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic customers and their traffic.")] = 7,
    rows: Annotated[
        int,
        typer.Option("--rows", min=1_000, help="Labelled customers in the history; windows and traffic follow."),
    ] = 4_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the outcome only, not the story.")] = False,
) -> None:
    """Run the whole loop on a synthetic churn problem, in a minute, with no server; then explore it."""
    from shipyard.demo import DemoOptions, run_demo
    from shipyard.demo.summary import shipyard_command

    result = run_demo(DemoOptions(folder=folder, seed=seed, rows=rows, quiet=quiet), echo=typer.echo)
    if not result.ok:
        typer.secho(
            f"The demo did not reach its ending: the retraining loop ended {result.ending!r} and the champion is "
            f"{result.champion_after or result.champion_before}. See `{shipyard_command()} monitor loops` in "
            f"{result.folder}.",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    if quiet:
        typer.echo(
            f"{result.folder}: {result.champion_before} → {result.champion_after} in {result.seconds:.1f} s; "
            f"reports: {', '.join(str(p) for p in result.reports)}"
        )
