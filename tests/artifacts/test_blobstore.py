"""The blob store's behaviour, run against the local fast path (file://) and the fsspec path (memory://)."""

import importlib.util
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import shipyard.artifacts
from shipyard.artifacts import BlobStore, open_blob_store
from shipyard.core.digests import digest_bytes
from shipyard.core.errors import CorruptArtifact, InvalidInput, MissingDependency, NotFound, StoreError
from tests.artifacts.conftest import Backend
from tests.artifacts.readonly import read_only

MiB = 1 << 20
UNKNOWN = "sha256:" + "0" * 64
HOUR = 3600.0


class FailingStream:
    """A source that yields two chunks, then fails like a dropped connection."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 2:
            raise ConnectionResetError("source went away")
        return b"x" * 1000


def test_round_trip(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 1000)
    digest, size = backend.store.put_file(source)
    assert (digest, size) == (digest_bytes(source.read_bytes()), 7000)
    assert backend.store.exists(digest)
    assert backend.store.size(digest) == 7000
    assert backend.store.read_bytes(digest) == source.read_bytes()
    backend.store.download(digest, tmp_path / "out" / "model.bin")
    assert (tmp_path / "out" / "model.bin").read_bytes() == source.read_bytes()


def test_blobs_are_named_by_digest_under_a_two_character_folder(backend: Backend) -> None:
    digest, _ = backend.store.put_bytes(b"abc")
    assert backend.files("blobs") == [backend.blob_path(digest)]
    assert backend.files("tmp") == []


def test_same_content_twice_is_stored_once(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "copy.txt").write_bytes(b"same")
    first = backend.store.put_bytes(b"same")
    assert backend.store.put_file(tmp_path / "copy.txt") == first
    assert [(d, s) for d, s, _ in backend.store.iter_blobs()] == [first]


def test_iter_blobs_reports_size_and_write_time(backend: Backend) -> None:
    a, _ = backend.store.put_bytes(b"a")
    bb, _ = backend.store.put_bytes(b"bb")
    blobs = sorted(backend.store.iter_blobs())
    assert [(d, s) for d, s, _ in blobs] == sorted([(a, 1), (bb, 2)])
    assert all(abs(mtime - time.time()) < 60 for _, _, mtime in blobs)


def test_failing_source_leaves_no_blob_and_no_temp(backend: Backend) -> None:
    with pytest.raises(ConnectionResetError):
        backend.store.put_stream(FailingStream())
    assert list(backend.store.iter_blobs()) == []
    assert backend.files("tmp") == []


def test_large_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    store = open_blob_store(tmp_path / "store")
    source, dest = tmp_path / "big.bin", tmp_path / "big.out"
    chunk = os.urandom(MiB)
    with open(source, "wb") as f:
        for _ in range(64):
            f.write(chunk)
    tracemalloc.start()
    try:
        digest, size = store.put_file(source)
        store.download(digest, dest)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size == 64 * MiB
    assert peak < 8 * MiB
    assert dest.stat().st_size == size
    assert store.put_file(dest) == (digest, size)


TAMPERINGS = {
    "truncated": lambda data: data[:-1],
    "one byte flipped": lambda data: data[:3] + bytes([data[3] ^ 1]) + data[4:],
}


@pytest.fixture(params=list(TAMPERINGS))
def corrupt_digest(request: pytest.FixtureRequest, backend: Backend) -> str:
    digest, _ = backend.store.put_bytes(b"original content")
    backend.fs.pipe_file(backend.blob_path(digest), TAMPERINGS[request.param](b"original content"))
    return digest


def test_read_bytes_detects_a_tampered_blob(backend: Backend, corrupt_digest: str) -> None:
    with pytest.raises(CorruptArtifact, match=f"{corrupt_digest} .* is corrupt: .* hash to sha256:[0-9a-f]{{64}}"):
        backend.store.read_bytes(corrupt_digest)


def test_download_of_a_tampered_blob_creates_nothing(backend: Backend, corrupt_digest: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(CorruptArtifact, match="log the artifact again"):
        backend.store.download(corrupt_digest, out / "model.bin")
    assert list(out.iterdir()) == []


def test_download_of_a_tampered_blob_keeps_the_previous_file(
    backend: Backend, corrupt_digest: str, tmp_path: Path
) -> None:
    dest = tmp_path / "out" / "model.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    with pytest.raises(CorruptArtifact):
        backend.store.download(corrupt_digest, dest)
    assert dest.read_bytes() == b"previous"
    assert list(dest.parent.iterdir()) == [dest]


def test_storing_a_damaged_blob_again_repairs_it(backend: Backend, corrupt_digest: str) -> None:
    assert backend.store.put_bytes(b"original content")[0] == corrupt_digest
    assert backend.store.read_bytes(corrupt_digest) == b"original content"


def test_a_read_only_store_refuses_writes_with_a_store_error_and_still_reads(tmp_path: Path) -> None:
    store = open_blob_store(tmp_path / "store")
    digest, _ = store.put_bytes(b"stored before")
    (tmp_path / "model.bin").write_bytes(b"new")
    with read_only(tmp_path / "store"):
        for write in (
            lambda: store.put_bytes(b"new"),
            lambda: store.adopt_file(tmp_path / "model.bin"),
            store.scratch_dir,
        ):
            with pytest.raises(StoreError, match=r"artifact store file://.*: .* \(/.*\)\. Make it writable"):
                write()
        assert store.read_bytes(digest) == b"stored before"
    assert (tmp_path / "model.bin").read_bytes() == b"new"


def test_check_reachable_names_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    store = open_blob_store(tmp_path / "store")
    store.check_reachable()  # creates the folder
    assert list((tmp_path / "store").iterdir()) == []
    with read_only(tmp_path / "store"), pytest.raises(StoreError, match=r"cannot write in the folder /.*/store: "):
        store.check_reachable()


@pytest.mark.parametrize(
    "call",
    [
        lambda store, dest: store.read_bytes(UNKNOWN),
        lambda store, dest: store.size(UNKNOWN),
        lambda store, dest: store.download(UNKNOWN, dest),
    ],
)
def test_unknown_digest_is_not_found(
    backend: Backend, call: Callable[[BlobStore, Path], object], tmp_path: Path
) -> None:
    assert not backend.store.exists(UNKNOWN)
    with pytest.raises(NotFound, match=f"No blob {UNKNOWN}"):
        call(backend.store, tmp_path / "out" / "never-written")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("digest", ["abc", "sha256:XYZ", "md5:" + "0" * 64, "sha256:" + "A" * 64])
def test_malformed_digest_is_invalid_input(backend: Backend, digest: str) -> None:
    for call in (backend.store.exists, backend.store.read_bytes, backend.store.size, backend.store.delete):
        with pytest.raises(InvalidInput, match="64 hex characters"):
            call(digest)


def test_delete_removes_the_blob_and_tolerates_absence(backend: Backend) -> None:
    digest, _ = backend.store.put_bytes(b"gone")
    backend.store.delete(digest)
    backend.store.delete(digest)
    assert not backend.store.exists(digest)


def test_plain_relative_path_opens_a_local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_blob_store(".shipyard/artifacts")
    digest, _ = store.put_bytes(b"x")
    monkeypatch.chdir("/")  # the root was resolved when the store was opened
    assert store.read_bytes(digest) == b"x"
    assert store.url == (tmp_path / ".shipyard" / "artifacts").as_uri()


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("nosuchscheme://x", InvalidInput, "nosuchscheme"),
        ("file://server/share", InvalidInput, "names the host 'server'"),
        ("", InvalidInput, "empty"),
    ],
)
def test_bad_urls_are_refused(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        open_blob_store(url)


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_s3_without_s3fs_names_the_extra() -> None:
    with pytest.raises(MissingDependency, match=r"pip install 'shipyard\[s3\]'"):
        open_blob_store("s3://bucket/prefix")


def test_facade_exports_exactly_the_public_api() -> None:
    assert sorted(shipyard.artifacts.__all__) == ["BlobStore", "GcReport", "check_artifact_path", "open_blob_store"]


def test_import_does_not_load_fsspec() -> None:
    code = "import sys, shipyard.artifacts; assert 'fsspec' not in sys.modules, 'fsspec was imported'"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
