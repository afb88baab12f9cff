"""The local store's schema, for ``shipyard db``: its revision, and upgrading it through Alembic.

Only a local backend has a schema of its own; a server upgrades its database itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from shipyard.backends.uri import resolve
from shipyard.core.config import Settings
from shipyard.store import HEAD_REVISION, create_engine, current_revision, ensure_schema

__all__ = ["HEAD_REVISION", "schema_revision", "upgrade_schema"]


def schema_revision(settings: Settings) -> str | None:
    """The revision of the settings' database; None for a database without Shipyard's tables."""
    with _engine(settings) as engine:
        return current_revision(engine)


def upgrade_schema(settings: Settings) -> tuple[str | None, str | None, str]:
    """Upgrade the schema to the latest revision: (revision before, revision after, artifact store)."""
    artifacts = resolve(settings, need_artifacts=False).artifacts
    with _engine(settings) as engine:
        before = current_revision(engine)
        ensure_schema(engine, auto_upgrade=True)  # refuses a schema newer than this Shipyard knows
        return before, current_revision(engine), artifacts


@contextmanager
def _engine(settings: Settings) -> Iterator[sa.Engine]:
    """An engine on the store's database, disposed on exit."""
    engine = create_engine(
        resolve(settings, need_artifacts=False).database,
        busy_timeout=settings.sqlite_busy_timeout,
        synchronous=settings.sqlite_synchronous,
    )
    try:
        yield engine
    finally:
        engine.dispose()
