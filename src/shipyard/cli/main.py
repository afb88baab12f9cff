"""The ``shipyard`` command: global options, the sub-commands, and the one place errors become exit codes.

Exit codes: 0 ok, 1 a check or gate failed, 2 a usage or input error, 3 an internal error (a bug or an
unexpected failure, never a verdict, so that CI can tell a crash from a failed gate). Every
``ShipyardError`` carries its own ``exit_code``; :meth:`_ShipyardGroup.invoke` is the only place that
turns one into a message and an exit status.
"""

from __future__ import annotations

import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from shipyard.cli import datasets, demo, gate, maintenance, models, monitor, pipeline, predict, runs, schedule, serve
from shipyard.cli._state import CliState
from shipyard.core.errors import ShipyardError

INTERNAL_ERROR = 3
"""The exit code of an unexpected exception; 1 is kept for "a check or gate failed"."""

# Typer's own control flow (usage errors, --help, Exit, Abort) passes through untouched: Typer prints
# those itself, with "Try 'shipyard … --help'" and "Did you mean …?".
_TYPER_FLOW = (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError)


class _ShipyardGroup(TyperGroup):
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # Typer passes its own Context
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except _TYPER_FLOW:
            raise
        except ShipyardError as exc:
            _fail(str(exc), exc.exit_code, debug=debug)
        except Exception as exc:
            _fail(
                f"internal error: {_first_line(exc)} (rerun with --debug for the traceback)",
                INTERNAL_ERROR,
                debug=debug,
            )


def _first_line(exc: Exception) -> str:
    """``Type: message``, cut to the message's first line (SQLAlchemy, for one, appends a "Background" link)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _fail(message: str, exit_code: int, *, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    typer.secho("error: ", fg="red", bold=True, err=True, nl=False)
    typer.echo(message, err=True)
    raise typer.Exit(exit_code)


app = typer.Typer(
    cls=_ShipyardGroup,
    name="shipyard",
    help="Track, version, gate, serve and monitor models in one loop.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(runs.app, name="runs")
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(pipeline.app, name="pipeline")
schedule.register(pipeline.app, app)
maintenance.register(app)
gate.register(app)
serve.register(app)
predict.register(app)
monitor.register(app)
demo.register(app)


def _print_version(value: bool) -> None:
    if value:
        from shipyard import __version__

        typer.echo(f"shipyard {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri",
            help="The store: a folder, sqlite:///…, postgresql+psycopg://… "
            "(default: SHIPYARD_URI, else shipyard.toml, else ./.shipyard).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback when a command fails.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    ctx.obj = CliState.from_options(uri=uri, debug=debug)


def main() -> None:
    """Entry point of the ``shipyard`` console script."""
    app(prog_name="shipyard")
