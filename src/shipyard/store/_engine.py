"""Engines for SQLite and PostgreSQL, schema upgrades through Alembic, and what their errors mean.

SQLite is tuned for many writers: WAL (readers never block the writer), a busy timeout, and write
transactions that begin IMMEDIATE, so two writers queue on the lock instead of one failing with
"database is locked" when it tries to upgrade a read lock. A store in a folder this process cannot
write (a read-only mount, a snapshot) is opened read-only, so it can still be read. A PostgreSQL
connection that sat in the pool for a while is checked before it is used again (``_ping_when_idle``), so
one the server dropped meanwhile is replaced instead of failing the next call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa

from shipyard.core.errors import MissingDependency, SchemaOutdated, StoreError

HEAD_REVISION = "0012"
_MIGRATIONS = str(Path(__file__).with_name("migrations"))


def create_engine(
    url: str, *, busy_timeout: float = 60.0, synchronous: str = "NORMAL", pool_size: int | None = None
) -> sa.Engine:
    """An engine for ``url``; ``pool_size`` (PostgreSQL) is how many connections the pool keeps open, as many as
    the threads that use it at once (a server's request threads): fewer, and every busy moment opens and closes
    connections, which costs the database a process each."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"Cannot parse the store URL {url!r}: {exc}.") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout, synchronous)
    try:
        sizes = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
        engine = sa.create_engine(parsed, future=True, **sizes)
    except ModuleNotFoundError as exc:
        raise MissingDependency.for_extra(exc.name or "psycopg", "postgres", f"The store URL {url!r}") from exc
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 1.0
"""A pooled PostgreSQL connection unused for this long is pinged before it is handed out again."""


def _ping_when_idle(engine: sa.Engine) -> None:
    """Pessimistic disconnect handling that costs nothing while connections are busy.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one extra round trip per request on a server
    whose connections are in use all the time and so cannot have gone stale unnoticed. A connection is
    dropped by the database (a restart, a failover, an idle timeout) while it sits unused; so only one that
    sat in the pool for ``PING_AFTER_IDLE_S`` is pinged, and a failed ping makes the pool replace it
    (``DisconnectionError`` at checkout: the pool retries with a new connection).
    """

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["shipyard_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("shipyard_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new (just connected) or in constant use
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as exc:  # any failure of the ping: the connection is not usable
            raise sa.exc.DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


def _sqlite_engine(url: sa.URL, busy_timeout: float, synchronous: str) -> sa.Engine:
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        path = Path(url.database).absolute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the folder of the metadata store {path}: {exc.strerror or exc}. "
                "Choose a folder you can write to (SHIPYARD_URI or --uri)."
            ) from exc
        if not path.is_file() or path.stat().st_size == 0:
            _refuse_a_lost_database(path)  # before connecting writes a header into the empty file
        elif not os.access(path.parent, os.W_OK):
            # WAL needs a -shm file beside the database. Without a -wal file nothing is waiting to be
            # checkpointed, so the database file holds everything and can be read as immutable; with one
            # (a live store we may only read), SQLite reads it through the -shm file that its writers keep.
            wal = path.with_name(path.name + "-wal")
            query = {"uri": "true", "mode": "ro"} | ({} if wal.exists() else {"immutable": "1"})
            url = url.set(database="file:" + quote(str(path)), query=query)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; "begin" below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("shipyard_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def current_revision(engine: sa.Engine) -> str | None:
    with store_errors(engine), engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (each step is transactional on both databases)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    with store_errors(engine), engine.connect().execution_options(shipyard_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Replicas starting together must not race to create the same tables.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7305830173)"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(engine: sa.Engine, *, auto_upgrade: bool) -> None:
    """Check the schema revision (one cheap query) and create or upgrade the schema when allowed.

    An empty database is given the schema, unless it is an SQLite file beside an artifact store that
    holds blobs: then the database was lost or truncated, and a fresh one would hide every run and let
    gc delete every blob. An existing older schema is upgraded only with ``auto_upgrade`` (the embedded
    SQLite store); a shared PostgreSQL store is upgraded on purpose with ``shipyard db upgrade``, so
    replicas of different versions never race.
    """
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision > HEAD_REVISION:
        raise SchemaOutdated(
            f"The metadata store is at schema revision {revision}, newer than this Shipyard knows "
            f"({HEAD_REVISION}). Upgrade Shipyard: pip install --upgrade shipyard."
        )
    if revision is not None and not auto_upgrade:
        raise SchemaOutdated(
            f"The metadata store is at schema revision {revision}; this Shipyard needs {HEAD_REVISION}. "
            "Run `shipyard db upgrade` (back up the database first)."
        )
    if revision is None and (path := sqlite_path(engine)) is not None:
        _refuse_a_lost_database(path)
    upgrade(engine)


def _refuse_a_lost_database(path: Path) -> None:
    blobs = path.parent / "artifacts" / "blobs"
    if not blobs.is_dir() or next(blobs.iterdir(), None) is None:
        return
    raise StoreError(
        f"The metadata store {path} is missing or empty (no tables), but the artifact store beside it "
        f"({blobs.parent}) holds blobs: the database was lost or truncated, and a fresh one would show no "
        f"runs and let `shipyard gc` delete every artifact. Restore {path.name} from a backup (with its -wal "
        f"file, if there is one). To start over on purpose, move {blobs.parent} away first."
    )


def sqlite_path(engine: sa.Engine) -> Path | None:
    """The file of an SQLite store; None for other databases and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if engine.url.query.get("uri"):
        return Path(unquote(database.removeprefix("file:").split("?", 1)[0])).absolute()
    return Path(database).absolute()


# errors -----------------------------------------------------------------------------------------------

# What to do about an SQLite error, by its result code.
_SQLITE_HINTS = {
    "SQLITE_CORRUPT": "{name} is damaged. Restore it from a backup (with its -wal file, if there is one); "
    "`sqlite3 {path} 'PRAGMA integrity_check'` shows what is wrong, and sqlite3's `.recover` may save part of it",
    "SQLITE_NOTADB": "{name} is damaged or is not a Shipyard database. Restore it from a backup; "
    "`sqlite3 {path} 'PRAGMA integrity_check'` shows what is wrong",
    "SQLITE_READONLY": "The store is read-only to this process (permission denied, or a read-only folder): it can "
    "be read but not changed. To change it, make {folder} and {name} writable by this user, or copy the store "
    "to a folder you can write to",
    "SQLITE_CANTOPEN": "Check that {folder} exists and that this user may read and write it and {name} "
    "(permission denied, or a read-only folder, are the usual causes), and that SHIPYARD_URI is right",
    "SQLITE_PERM": "Permission denied: make {folder} and {name} readable and writable by this user",
    "SQLITE_FULL": "The disk is full: free some space and try again",
    "SQLITE_IOERR": "The disk reported an error: check it, then run `sqlite3 {path} 'PRAGMA integrity_check'`",
    "SQLITE_BUSY": "Another process held the write lock for longer than sqlite_busy_timeout; try again, or raise "
    "the setting",
}


@contextmanager
def store_errors(engine: sa.Engine) -> Iterator[None]:
    """A database that cannot be reached, opened, read or written is a StoreError that says why and what to do.

    Constraint violations and the like pass through, for the stores to turn into their own errors.
    """
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise _store_error(engine, exc) from exc
    except sa.exc.DatabaseError as exc:
        if _sqlite_code(exc) not in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            raise
        raise _store_error(engine, exc) from exc


def _store_error(engine: sa.Engine, exc: sa.exc.DBAPIError) -> StoreError:
    reason = str(exc.orig or exc).strip().splitlines()[0].rstrip(".")
    path = sqlite_path(engine)
    if path is None:
        where = engine.url.render_as_string(hide_password=True)
        return StoreError(
            f"The metadata store at {where} could not be used: {reason}. Check that the database is running "
            "and reachable, and that SHIPYARD_URI is right."
        )
    code = "_".join(_sqlite_code(exc).split("_")[:2])  # SQLITE_IOERR_WRITE is an SQLITE_IOERR
    if code == "SQLITE_CANTOPEN" and not os.access(path.parent, os.W_OK):
        code = "SQLITE_READONLY"
    hint = _SQLITE_HINTS.get(code)
    text = (hint or "Check the database file and try again").format(path=path, name=path.name, folder=path.parent)
    return StoreError(f"The metadata store {path} could not be used: {reason}. {text}.")


def _sqlite_code(exc: sa.exc.DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlite_errorname", ""))
