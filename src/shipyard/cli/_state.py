"""What every command shares: the global options, and opening the store they name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.core.config import CONFIG_FILE, HOME_DIR, Settings
from shipyard.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from shipyard.backends.uri import Locations
    from shipyard.tracking import Client


INT_MAX = 2**63 - 1
"""The largest id or limit an option takes: the store's integers are 64-bit."""
WEEK = 7 * 24 * 3600.0
"""The longest wait an option takes (--poll, --interval): finite, since infinity overflows the clock."""


@dataclass(frozen=True)
class CliState:
    """The global options, kept on the root context's ``obj``."""

    uri: str | None = None
    debug: bool = False

    @classmethod
    def from_options(cls, *, uri: str | None, debug: bool) -> CliState:
        # A folder typed on the command line is relative to where the user stands, not to the project root.
        if uri and "://" not in uri:
            uri = str(Path(uri).expanduser().resolve())
        return cls(uri=uri or None, debug=debug)


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliState) else CliState()


def load_settings(ctx: typer.Context, *, cwd: Path | None = None) -> Settings:
    """``--uri`` > ``SHIPYARD_URI`` > ``shipyard.toml`` > ``./.shipyard``, as ``Settings.load`` orders them."""
    return Settings.load(cwd=cwd, uri=state(ctx).uri)


def is_server(settings: Settings) -> bool:
    """Whether the URI names a Shipyard server (``http(s)://``), which keeps its store itself."""
    return settings.uri.split("://", 1)[0].lower() in ("http", "https")


def local_store_only(settings: Settings, command: str) -> None:
    """``InvalidInput`` for a command that works on the database itself (its schema), given a server URI."""
    if is_server(settings):
        raise InvalidInput(
            f"`shipyard {command}` works on a database, and {settings.uri} is a Shipyard server, which keeps its "
            f"database itself: run `shipyard {command} --uri postgresql+psycopg://…` (the server's --db) where "
            "the database is reachable, or unset SHIPYARD_URI to use a local store."
        )


def existing_store(settings: Settings, *, need_artifacts: bool = True) -> Locations | None:
    """Where the store lives; ``NotFound`` if it is an SQLite file that does not exist yet (``need_artifacts``:
    see ``resolve``).

    Reading commands, and commands that change what must already be stored, do not create an empty store
    wherever they happen to be run (see :func:`open_client`). A server's store is the server's: there is
    nothing to look for here (None), and the server answers ``NotFound`` itself for what it does not hold.
    """
    from shipyard.backends.uri import resolve

    if is_server(settings):
        return None
    where = resolve(settings, need_artifacts=need_artifacts)
    path = sqlite_file(where.database)
    if path is not None and not path.is_file():
        create = (
            "Create one with `shipyard init` (or record something: `shipyard pipeline run`, `sy.start_run`), "
            "or point to an existing store with --uri or SHIPYARD_URI."
        )
        if _searched(settings):
            raise NotFound(
                f"No Shipyard store here: looked for {HOME_DIR}/ and {CONFIG_FILE} in {settings.root} and every "
                f"folder above it, and found neither. {create}"
            )
        nested = Path(settings.uri) / HOME_DIR
        hint = f"Did you mean --uri {nested}? " if (nested / path.name).is_file() else ""
        raise NotFound(f"No Shipyard store at {settings.uri} ({path} does not exist). {hint}{create}")
    return where


def _searched(settings: Settings) -> bool:
    """Whether the store is the default one of a root that no folder marked (so it was searched for)."""
    root = settings.root
    marked = (root / HOME_DIR).is_dir() or (root / CONFIG_FILE).is_file()
    return settings.uri == str(root / HOME_DIR) and not marked


def sqlite_file(database: str) -> Path | None:
    """The file behind an ``sqlite:///…`` URL; None for other databases and in-memory SQLite."""
    scheme, _, rest = database.partition("://")
    if scheme.split("+")[0] != "sqlite" or not rest.startswith("/"):
        return None
    path = rest[1:].split("?")[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def open_client(ctx: typer.Context, *, create: bool = False) -> Iterator[Client]:
    """A ``Client`` on the store the global options name, closed when the command ends.

    The rule for every entry point (docs/cli.md, "Where the store is"): what starts new work from the
    user's code and needs nothing stored before it (``sy.start_run``, ``shipyard init``, ``pipeline run``,
    ``pipeline schedule``: ``create=True``, their inputs checked before the store is opened) creates the
    store where none is found, and says so on stderr; every other command reads, or changes something that
    must already be stored, and refuses with ``existing_store``'s message, leaving no empty store behind.
    """
    from shipyard.tracking import Client

    settings = load_settings(ctx)
    made = ""
    if is_server(settings):
        pass  # the server's store exists, or the server says why not
    elif create:
        where = sqlite_file(_database(settings))
        if where is not None and not where.is_file():
            made = f" (none in {settings.root} or above it)" if _searched(settings) else " "
    else:
        existing_store(settings)
    client = Client(settings.uri, artifacts=settings.artifacts or None)
    if made:
        typer.echo(f"Created a new Shipyard store at {settings.uri}{made.rstrip()}.", err=True)
    try:
        yield client
    finally:
        client.close()


def _database(settings: Settings) -> str:
    from shipyard.backends.uri import resolve

    return resolve(settings).database


def require_project(client: Client, project: str) -> None:
    """``NotFound``, naming the known projects, unless ``project`` exists.

    Listing a project nobody created is a typo far more often than an empty project, so every listing
    that takes --project says so, as `runs list` does. Searching its runs resolves the project by name
    and raises the store's own message.
    """
    client.search_runs(project, max_results=1)


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM end the process with status 0 once uvicorn has shut down gracefully.

    uvicorn drains the requests in flight, then raises the signal again with the handler it found: the
    default one kills the process (status -15, 143 in a shell), which supervisors and CI read as a crash.
    This handler turns it into ``SystemExit(0)``; a SIGTERM before uvicorn installs its own stops too.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def redact(url: str) -> str:
    """``url`` without its password, fit to print."""
    if "://" not in url or "@" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://***"
