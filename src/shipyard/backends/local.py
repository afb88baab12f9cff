"""The local backend: a metadata store and a blob store, both opened in this process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from shipyard.artifacts import BlobStore, open_blob_store
from shipyard.core.config import Settings
from shipyard.core.errors import InvalidInput
from shipyard.store import DatasetStore, RegistryStore, SqlStore
from shipyard.store.canaries import CanaryStore
from shipyard.store.loops import LoopStore
from shipyard.store.monitors import MonitorStore
from shipyard.store.pipelines import PipelineStore
from shipyard.store.policies import PolicyStore
from shipyard.store.predictions import PredictionStore
from shipyard.store.schedules import ScheduleStore
from shipyard.store.verdicts import VerdictStore


@dataclass(frozen=True)
class Locations:
    """Where the metadata and the blobs live, resolved from a URI."""

    database: str
    artifacts: str


def resolve(settings: Settings) -> Locations:
    uri = settings.uri
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in ("http", "https"):
        raise InvalidInput(
            f"SHIPYARD_URI={uri!r} names a Shipyard server; the HTTP backend is not part of this version yet. "
            "Use a folder (./.shipyard), sqlite:///path/shipyard.db or postgresql+psycopg://… instead."
        )
    if scheme == "sqlite":
        database = uri
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        default_artifacts = str(Path(path).resolve().parent / "artifacts") if path else ""
    elif scheme == "postgresql":
        database, default_artifacts = uri, ""
    elif scheme in ("", "file") or len(scheme) == 1:  # a path; one letter is a Windows drive
        folder = Path(urlparse(uri).path if scheme == "file" else uri).expanduser()
        if not folder.is_absolute():
            folder = settings.root / folder
        database = f"sqlite:///{folder / 'shipyard.db'}"
        default_artifacts = str(folder / "artifacts")
    else:
        raise InvalidInput(f"Unsupported store URI {uri!r}: expected a folder, sqlite:///…, or postgresql+psycopg://….")
    artifacts = settings.artifacts or default_artifacts
    if not artifacts:
        raise InvalidInput(
            f"The store {uri!r} keeps no files of its own; set SHIPYARD_ARTIFACTS to an artifact store "
            "such as s3://bucket/shipyard or a shared folder."
        )
    return Locations(database=database, artifacts=artifacts)


class LocalBackend:
    """Metadata in SQLite/PostgreSQL, blobs in a content-addressed store; no server in between.

    ``store`` holds runs, ``datasets`` dataset versions, ``registry`` models; all three share one engine.
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

    def close(self) -> None:
        self.store.close()


def open_backend(settings: Settings, *, auto_upgrade: bool | None = None) -> LocalBackend:
    where = resolve(settings)
    store = SqlStore.open(
        where.database,
        busy_timeout=settings.sqlite_busy_timeout,
        synchronous=settings.sqlite_synchronous,
        heartbeat_timeout=settings.heartbeat_timeout,
        auto_upgrade=auto_upgrade,
    )
    return LocalBackend(store, open_blob_store(where.artifacts))
