"""The local backend: a metadata store and a blob store, both opened in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.artifacts import BlobStore, open_blob_store
from shipyard.backends.uri import Locations, resolve
from shipyard.core.config import Settings
from shipyard.store import DatasetStore, RegistryStore, SqlStore
from shipyard.store.accounts import AccountStore
from shipyard.store.canaries import CanaryStore
from shipyard.store.loops import LoopStore
from shipyard.store.monitors import MonitorStore
from shipyard.store.pipelines import PipelineStore
from shipyard.store.policies import PolicyStore
from shipyard.store.predictions import PredictionStore
from shipyard.store.schedules import ScheduleStore
from shipyard.store.verdicts import VerdictStore

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend

__all__ = ["LocalBackend", "Locations", "open_local", "resolve"]


class LocalBackend:
    """Metadata in SQLite/PostgreSQL, blobs in a content-addressed store; no server in between.

    ``store`` holds runs, ``datasets`` dataset versions, ``registry`` models; all parts share one engine.
    """

    def __init__(self, store: SqlStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self.datasets = DatasetStore(store.engine)
        self.registry = RegistryStore(store.engine)
        self.verdicts = VerdictStore(store.engine)
        self.policies = PolicyStore(store.engine)
        self.pipelines = PipelineStore(store.engine)
        self.schedules = ScheduleStore(store.engine)
        self.predictions = PredictionStore(store.engine)
        self.monitors = MonitorStore(store.engine)
        self.canaries = CanaryStore(store.engine)
        self.loops = LoopStore(store.engine)
        self.accounts = AccountStore(store.engine)

    @property
    def gate_server(self) -> None:
        return None  # the gate runs in this process, under the policy in force in this store

    @property
    def metadata_location(self) -> str:
        return self.store.engine.url.render_as_string(hide_password=True)

    def after_fork(self) -> None:
        # close=False: the pooled connections belong to the parent, which keeps using them.
        self.store.engine.dispose(close=False)

    def close(self) -> None:
        self.store.close()


def open_local(settings: Settings, *, auto_upgrade: bool | None = None, pool_size: int | None = None) -> LocalBackend:
    """The local backend for the settings' URI: the database (schema checked or upgraded) and the blob store;
    ``pool_size``: PostgreSQL connections kept open (a server's request threads)."""
    where = resolve(settings)
    store = SqlStore.open(
        where.database,
        busy_timeout=settings.sqlite_busy_timeout,
        synchronous=settings.sqlite_synchronous,
        heartbeat_timeout=settings.heartbeat_timeout,
        auto_upgrade=auto_upgrade,
        pool_size=pool_size,
    )
    return LocalBackend(store, open_blob_store(where.artifacts))


def _conforms(backend: LocalBackend) -> Backend:
    return backend  # mypy checks here that LocalBackend implements every protocol of the seam
