"""Engines for SQLite and PostgreSQL, and schema upgrades through Alembic.

SQLite is tuned for many writers: WAL (readers never block the writer), a busy timeout, and write
transactions that begin IMMEDIATE, so two writers queue on the lock instead of one failing with
"database is locked" when it tries to upgrade a read lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import MissingDependency, SchemaOutdated, StoreError

HEAD_REVISION = "0008"
_MIGRATIONS = str(Path(__file__).with_name("migrations"))


def create_engine(url: str, *, busy_timeout: float = 60.0, synchronous: str = "NORMAL") -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"Cannot parse the store URL {url!r}: {exc}.") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout, synchronous)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, future=True)
    except ModuleNotFoundError as exc:
        raise MissingDependency.for_extra(exc.name or "psycopg", "postgres", f"The store URL {url!r}") from exc


def _sqlite_engine(url: sa.URL, busy_timeout: float, synchronous: str) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
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
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (each step is transactional on both databases)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    with engine.connect().execution_options(shipyard_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Replicas starting together must not race to create the same tables.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7305830173)"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(engine: sa.Engine, *, auto_upgrade: bool) -> None:
    """Check the schema revision (one cheap query) and create or upgrade the schema when allowed.

    An empty database is always given the schema: there is nothing to lose. An existing older schema
    is upgraded only with ``auto_upgrade`` (the embedded SQLite store); a shared PostgreSQL store is
    upgraded on purpose with ``shipyard db upgrade``, so replicas of different versions never race.
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
    upgrade(engine)
