"""The blob store under test: on the local fast path (file://), the generic fsspec path (memory://), and S3
(s3://, against the S3 test server of tests/_s3.py). One suite for all three."""

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from shipyard.artifacts import BlobStore, GcReport, open_blob_store
from tests._s3 import S3Bucket, set_mtime


@dataclass
class Backend:
    """A store, plus an fsspec view of its root for tampering with it the way a failing disk or a clock would."""

    kind: str
    store: BlobStore
    fs: fsspec.AbstractFileSystem
    root: str
    set_mtime: Callable[[str, float], None]

    def blob_path(self, digest: str) -> str:
        hex_digest = digest.removeprefix("sha256:")
        return f"{self.root}/blobs/{hex_digest[:2]}/{hex_digest}"

    def files(self, folder: str) -> list[str]:
        return list(self.fs.find(f"{self.root}/{folder}"))

    def collected(self, removed: list[str], size: int, kept: int) -> GcReport:
        """What gc reports for ``removed`` blobs of ``size`` bytes in all: a local store frees them at once,
        an object store keeps them in its trash for a grace period."""
        if self.kind == "file":
            return GcReport(removed=removed, freed_bytes=size, kept=kept)
        return GcReport(removed=removed, trashed_bytes=size, kept=kept)


OBJECT_STORES = ["memory", pytest.param("s3", marks=pytest.mark.s3)]  # the stores that keep a trash
BACKENDS = ["file", *OBJECT_STORES]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        store = open_blob_store(bucket.url)
        fs = store._storage.fs  # type: ignore[attr-defined]  # the store's own, so a test can patch what it calls
        yield Backend("s3", store, fs, bucket.url.removeprefix("s3://"), set_mtime)
        return
    if request.param == "file":
        root = tmp_path / "store"  # not created: the store makes its folders on first write
        local = fsspec.filesystem("file", auto_mkdir=True)
        yield Backend("file", open_blob_store(root.as_uri()), local, str(root), _set_local_mtime)
        return
    url = f"memory://test-{uuid.uuid4().hex}"
    fs = MemoryFileSystem()
    root = fs._strip_protocol(url)
    yield Backend("memory", open_blob_store(url), fs, root, _memory_mtime_setter(fs))
    if fs.exists(root):  # the memory filesystem is process-wide
        fs.rm(root, recursive=True)


def _set_local_mtime(path: str, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


def _memory_mtime_setter(fs: MemoryFileSystem) -> Callable[[str, float], None]:
    def set_mtime(path: str, mtime: float) -> None:
        file = fs.store[path]
        file.created = file.modified = datetime.fromtimestamp(mtime, tz=UTC)

    return set_mtime
