"""The metadata store: SQLAlchemy over SQLite or PostgreSQL, schema through Alembic."""

from shipyard.store._engine import HEAD_REVISION, upgrade
from shipyard.store.sql import SqlStore

__all__ = ["HEAD_REVISION", "SqlStore", "upgrade"]
