"""The metadata store: SQLAlchemy over SQLite or PostgreSQL, schema through Alembic."""

from shipyard.store._engine import HEAD_REVISION, create_engine, current_revision, ensure_schema, upgrade
from shipyard.store.sql import SqlStore

__all__ = ["HEAD_REVISION", "SqlStore", "create_engine", "current_revision", "ensure_schema", "upgrade"]
