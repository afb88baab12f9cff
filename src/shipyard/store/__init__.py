"""The metadata store: SQLAlchemy over SQLite or PostgreSQL, schema through Alembic.

Three parts share one engine: ``SqlStore`` (runs and their data), ``DatasetStore`` (dataset versions
and run inputs) and ``RegistryStore`` (models, versions, aliases, audit log).
"""

from shipyard.store._engine import HEAD_REVISION, create_engine, current_revision, ensure_schema, upgrade
from shipyard.store.datasets import DatasetStore
from shipyard.store.registry import RegistryStore
from shipyard.store.sql import SqlStore

__all__ = [
    "HEAD_REVISION",
    "DatasetStore",
    "RegistryStore",
    "SqlStore",
    "create_engine",
    "current_revision",
    "ensure_schema",
    "upgrade",
]
