"""``shipyard pipeline …``: run a pipeline from a file, list and show pipeline runs, resume a failed one."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run pipelines and look at their runs.", no_args_is_help=True)
