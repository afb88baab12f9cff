"""The ``shipyard`` command: global options, the sub-commands, and the one place errors become exit codes.

Exit codes: 0 ok, 1 a check or gate failed, 2 a usage or input error, 3 an internal error (a bug or an
unexpected failure, never a verdict, so that CI can tell a crash from a failed gate). Every
``ShipyardError`` carries its own ``exit_code``; :func:`describe` is the only place that turns an
exception into a message and an exit status (:class:`_ShipyardGroup` catches and prints). Every error
is one ``error:`` line on stderr, usage errors included (they end with "Try 'shipyard … --help'.").
"""

from __future__ import annotations

import errno
import traceback
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from shipyard.cli import (
    accounts,
    audit,
    datasets,
    demo,
    gate,
    maintenance,
    models,
    monitor,
    pipeline,
    predict,
    runs,
    schedule,
    serve,
    server,
)
from shipyard.cli._output import stdin_is_terminal
from shipyard.cli._state import CliState
from shipyard.core.errors import ShipyardError

USAGE_ERROR = 2
INTERNAL_ERROR = 3
"""The exit code of an unexpected exception; 1 is kept for "a check or gate failed"."""

# Typer's own control flow (--help, Exit, Abort) passes through untouched.
_TYPER_FLOW = (typer.Exit, typer.Abort, BrokenPipeError)


class _ShipyardGroup(TyperGroup):
    # Typer's usage errors (UsageError, BadParameter, NoSuchOption, …) are Click's, vendored in Typer's
    # private `typer._click`; all of them derive from the public `typer.TyperException`, caught here.
    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        # The root's own options (`shipyard --uri` without a value) are parsed here, before invoke.
        try:
            return super().make_context(*args, **kwargs)
        except typer.TyperException as exc:
            _exit(exc, debug=False)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # Typer passes its own Context
        debug = bool(ctx.params.get("debug"))
        words = [*getattr(ctx, "_protected_args", ()), *ctx.args]  # the command line below the root
        try:
            return super().invoke(ctx)
        except typer.Abort as exc:  # a prompt read end-of-file
            if stdin_is_terminal():
                raise  # the user's own Ctrl-D: "Aborted."
            typer.echo(err=True)  # the prompt left its line open
            _exit(exc, debug=debug)
        except _TYPER_FLOW:
            raise
        except typer.TyperException as exc:  # a sub-command's usage error, or a BadParameter a command raised
            if getattr(getattr(exc, "ctx", None), "command", None) in (None, ctx.command):  # unset, or the root
                exc.ctx = _deepest_context(ctx, words)  # type: ignore[attr-defined]  # for its "Try '… --help'"
            _exit(exc, debug=debug)
        except Exception as exc:
            _exit(exc, debug=debug)


def describe(exc: BaseException) -> tuple[str, int]:
    """The one translation of an exception into the CLI's ``error:`` message and exit code.

    A usage error is one line ending "Try 'shipyard … --help'." (exit 2); a ``ShipyardError`` its message
    and its class's ``exit_code``; an ``OSError`` on a path the system refuses names the path (exit 2);
    anything else is an internal error (exit 3) with a hint to rerun with --debug.
    """
    if isinstance(exc, typer.Abort):
        return "This command asks for confirmation, but stdin is not a terminal; pass --yes.", USAGE_ERROR
    if isinstance(exc, typer.TyperException):
        return _usage_message(exc), USAGE_ERROR
    if isinstance(exc, ShipyardError):
        return str(exc), exc.exit_code
    refused = _refused_path(exc)
    if refused is not None:
        return refused, USAGE_ERROR
    return f"internal error: {_first_line(exc)} (rerun with --debug for the traceback)", INTERNAL_ERROR


def _exit(exc: BaseException, *, debug: bool) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `shipyard runs` alone: Typer has printed the help already
        raise exc
    message, code = describe(exc)
    if debug and not isinstance(exc, typer.TyperException):
        traceback.print_exception(exc)
    typer.secho("error: ", fg="red", bold=True, err=True, nl=False)
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _deepest_context(ctx: typer.Context, words: list[str]) -> typer.Context:
    """A context for the deepest command ``words`` name (``models list``), so that a parse error Click raised
    without one still points at the right ``--help``."""
    command: Any = ctx.command
    path = ctx.command_path
    for word in words:
        sub = command.get_command(ctx, word) if hasattr(command, "get_command") else None
        if sub is None:
            break
        command, path = sub, f"{path} {word}"
    return typer.Context(command, info_name=path)


# An OSError on a path the system refuses (too long, not permitted, a read-only or full disk) is no bug:
# it names the path, and the user can act on it.
_PATH_ERRORS = {
    errno.ENAMETOOLONG: "Give a shorter path.",
    errno.ELOOP: "It is a loop of symbolic links.",
    errno.EACCES: "Check its permissions.",
    errno.EPERM: "Check its permissions.",
    errno.EROFS: "Its file system is read-only; choose a writable place.",
    errno.ENOSPC: "The disk is full; free some space.",
    errno.EDQUOT: "The disk quota is exceeded; free some space.",
}


def _refused_path(exc: BaseException) -> str | None:
    """``Cannot use 'PATH': REASON. HINT`` for an OSError on a path the system refuses; None for any other."""
    if not isinstance(exc, OSError) or exc.filename is None:
        return None
    hint = _PATH_ERRORS.get(exc.errno or 0)
    return None if hint is None else f"Cannot use {str(exc.filename)!r}: {exc.strerror}. {hint}"


def _first_line(exc: BaseException) -> str:
    """``Type: message``, cut to the message's first line (SQLAlchemy, for one, appends a "Background" link)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _usage_message(exc: typer.TyperException) -> str:
    """One line, like every other error, instead of Typer's usage box; "Did you mean" hints stay."""
    message = " ".join(part.strip() for part in exc.format_message().splitlines() if part.strip())
    close = getattr(exc, "possibilities", None)  # an unknown option's near misses
    if close:
        message = f"{exc.message}. Did you mean {' or '.join(sorted(close))}?"
    got = _refused_value(exc)
    if got:
        message = f"{message.rstrip('.')}; got {got}"
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or "shipyard"
    end = "" if message.endswith((".", "?", "!")) else "."
    return f"{message}{end} Try '{command} --help'."


def _refused_value(exc: BaseException) -> str:
    """The value Typer's validation refused, quoted (``'-5'``), when its cause says which; else ''.

    Typer checks option types and ranges with pydantic, whose ``ValidationError.errors()`` keep the input.
    """
    errors = getattr(exc.__cause__, "errors", None)
    found = errors() if callable(errors) else []
    if len(found) != 1 or not isinstance(found[0], dict) or not isinstance(found[0].get("input"), str):
        return ""
    return repr(found[0]["input"])


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
app.add_typer(audit.app, name="audit")
schedule.register(pipeline.app, app)
maintenance.register(app)
gate.register(app)
serve.register(app)
server.register(app)
predict.register(app)
monitor.register(app)
demo.register(app)
accounts.register(app)


def _print_version(value: bool) -> None:
    if value:
        from shipyard.core.version import __version__

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
