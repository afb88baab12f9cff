"""Garbage collection of the blob store: what goes, what stays, and writers that run into gc."""

import fcntl
import os
import time
from collections.abc import Iterator

import pytest

from shipyard.artifacts import GcReport
from shipyard.core.errors import InvalidInput
from tests.artifacts.conftest import OBJECT_STORES, Backend

HOUR = 3600.0


def listed(backend: Backend) -> list[str]:
    return [digest for digest, _, _ in backend.store.iter_blobs()]


def age(backend: Backend, digest: str, seconds: float = 2 * HOUR) -> None:
    backend.set_mtime(backend.blob_path(digest), time.time() - seconds)


def test_gc_removes_old_unreferenced_blobs_and_keeps_referenced_ones(backend: Backend) -> None:
    kept, _ = backend.store.put_bytes(b"referenced")
    dropped, size = backend.store.put_bytes(b"orphan")
    report = backend.store.gc({kept}, grace_seconds=60, now=time.time() + HOUR)
    assert report == backend.collected([dropped], size, kept=1)
    assert listed(backend) == [kept]


def test_gc_keeps_young_unreferenced_blobs(backend: Backend) -> None:
    digest, _ = backend.store.put_bytes(b"just written")
    assert backend.store.gc(set(), grace_seconds=HOUR) == GcReport(kept=1)
    assert backend.store.exists(digest)


def test_gc_dry_run_removes_nothing(backend: Backend) -> None:
    digest, size = backend.store.put_bytes(b"orphan")
    report = backend.store.gc(set(), grace_seconds=0, now=time.time() + HOUR, dry_run=True)
    assert report == backend.collected([digest], size, kept=0)
    assert listed(backend) == [digest]


def test_putting_an_old_blob_again_protects_it_from_gc(backend: Backend) -> None:
    digest, _ = backend.store.put_bytes(b"old model")
    age(backend, digest)
    assert backend.store.gc(set(), grace_seconds=HOUR, dry_run=True).removed == [digest]
    backend.store.put_bytes(b"old model")
    assert backend.store.gc(set(), grace_seconds=HOUR) == GcReport(kept=1)
    assert backend.store.exists(digest)


def test_gc_keeps_a_blob_written_again_after_it_listed_the_blobs(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    precious, _ = backend.store.put_bytes(b"precious")
    junk, size = backend.store.put_bytes(b"junk")
    age(backend, precious)
    age(backend, junk)
    list_blobs = backend.store.iter_blobs

    def list_then_write_again() -> Iterator[tuple[str, int, float]]:
        yield from list_blobs()  # gc has seen both blobs old and unreferenced
        backend.store.put_bytes(b"precious")  # a new run logs the same bytes, and is told they are stored

    monkeypatch.setattr(backend.store, "iter_blobs", list_then_write_again)
    report = backend.store.gc(set(), grace_seconds=HOUR)
    assert backend.store.read_bytes(precious) == b"precious"
    if backend.kind == "file":  # looked at again under the lock, the blob is fresh
        assert report == backend.collected([junk], size, kept=1)


def test_gc_keeps_a_blob_found_by_exists_after_it_listed_the_blobs(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached, _ = backend.store.put_bytes(b"a cached step output")
    age(backend, cached)
    list_blobs = backend.store.iter_blobs

    def list_then_find() -> Iterator[tuple[str, int, float]]:
        yield from list_blobs()
        assert backend.store.exists(cached)  # a cache hit: the caller refers to the blob without storing it

    monkeypatch.setattr(backend.store, "iter_blobs", list_then_find)
    backend.store.gc(set(), grace_seconds=HOUR)
    assert backend.store.read_bytes(cached) == b"a cached step output"


@pytest.mark.parametrize("backend", ["file"], indirect=True)
def test_writers_wait_while_gc_deletes_a_batch(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    junk, _ = backend.store.put_bytes(b"junk")
    age(backend, junk)
    probes = []
    remove = os.remove

    def probe_then_remove(path: str) -> None:
        # What a writer does before it moves a blob into place: take the lock shared.
        fd = os.open(f"{backend.root}/gc.lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            probes.append("a writer got in")
        except BlockingIOError:
            probes.append("writers wait")
        finally:
            os.close(fd)
        remove(path)

    monkeypatch.setattr(os, "remove", probe_then_remove)
    backend.store.gc(set(), grace_seconds=HOUR)
    assert probes == ["writers wait"]


@pytest.mark.parametrize("backend", OBJECT_STORES, indirect=True)
def test_a_blob_written_while_gc_moves_it_to_the_trash_stays_readable(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest, _ = backend.store.put_bytes(b"precious")
    age(backend, digest)
    rm = backend.fs.rm
    writes = []

    def write_then_rm(paths: list[str], **kwargs: object) -> None:
        if not writes:  # lands between gc's copy to the trash and its delete
            writes.append("precious")
            backend.store.put_bytes(b"precious")
        rm(paths, **kwargs)

    monkeypatch.setattr(backend.fs, "rm", write_then_rm)
    assert backend.store.gc(set(), grace_seconds=HOUR).removed == [digest]
    monkeypatch.undo()
    assert listed(backend) == []
    assert backend.store.read_bytes(digest) == b"precious"  # brought back from the trash
    assert listed(backend) == [digest]


@pytest.mark.parametrize("backend", OBJECT_STORES, indirect=True)
def test_the_trash_is_emptied_a_grace_period_later_keeping_what_is_referenced_by_then(backend: Backend) -> None:
    logged, size = backend.store.put_bytes(b"recorded after gc read the references")
    junk, junk_size = backend.store.put_bytes(b"junk")
    age(backend, logged)
    age(backend, junk)
    assert backend.store.gc(set(), grace_seconds=HOUR).trashed_bytes == size + junk_size
    assert backend.store.gc({logged}, grace_seconds=HOUR).freed_bytes == 0  # sealed too recently
    later = backend.store.gc({logged}, grace_seconds=HOUR, now=time.time() + 2 * HOUR)
    assert (later.restored, later.freed_bytes) == ([logged], junk_size)
    assert listed(backend) == [logged]
    assert backend.files("trash") == []


@pytest.mark.parametrize("backend", OBJECT_STORES, indirect=True)
def test_a_trash_generation_left_unsealed_by_a_dead_gc_is_sealed_then_emptied(backend: Backend) -> None:
    entry = f"{backend.root}/trash/0000000000001-deadbeef/{'ab' * 32}"
    backend.fs.pipe_file(entry, b"left behind")
    backend.set_mtime(entry, time.time() - 2 * HOUR)
    assert backend.store.gc(set(), grace_seconds=HOUR).freed_bytes == 0  # sealed now
    assert backend.store.gc(set(), grace_seconds=HOUR, now=time.time() + 2 * HOUR).freed_bytes == len(b"left behind")
    assert backend.files("trash") == []


def test_gc_removes_stale_temps_only(backend: Backend) -> None:
    stale, live = f"{backend.root}/tmp/stale", f"{backend.root}/tmp/live"
    backend.fs.pipe_file(stale, b"12345")
    backend.fs.pipe_file(live, b"1")
    backend.set_mtime(stale, time.time() - 2 * HOUR)
    assert backend.store.gc(set(), grace_seconds=HOUR) == GcReport(freed_bytes=5)
    assert backend.files("tmp") == [live]


@pytest.mark.parametrize(
    ("referenced", "grace", "message"),
    [({"abc"}, 60, "64 hex characters"), (set(), -1, "'grace_seconds' parameter .* Got -1 instead")],
)
def test_gc_rejects_bad_arguments(backend: Backend, referenced: set[str], grace: float, message: str) -> None:
    backend.store.put_bytes(b"must survive")
    with pytest.raises(InvalidInput, match=message):
        backend.store.gc(referenced, grace_seconds=grace, now=time.time() + HOUR)
    assert len(list(backend.store.iter_blobs())) == 1
