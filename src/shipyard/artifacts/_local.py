"""The blob store's local filesystem storage, through plain ``open`` and ``os`` calls (the hot path).

Garbage collection and writers meet at one lock file, ``<root>/gc.lock`` (``flock``): a writer holds it
shared while it moves a blob into place and refreshes its modification time, and gc holds it exclusively
while it checks a batch of blobs again and deletes those still unreferenced-and-old. So a blob that a
writer publishes after gc listed it is either seen fresh by that check, or published after the delete:
gc never deletes a blob written or re-written after it started. Writers never wait for each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; gc there relies on the grace period alone
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "gc.lock"
# Writers wait for gc one batch at a time, a few milliseconds, never for a whole collection.
_GC_BATCH = 256


class LocalStorage:
    """Blobs in a local folder. Paths are strings joined with '/' under ``root``."""

    keeps_trash = False

    def __init__(self, root: str) -> None:
        self.root = root

    def open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    @contextmanager
    def open_write(self, path: str) -> Iterator[IO[bytes]]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "xb") as out:
            yield out
            # On disk before the rename publishes it, so a crash cannot leave an empty file under a digest's name.
            out.flush()
            os.fsync(out.fileno())

    def publish(self, temp: str, final: str) -> None:
        # The fresh, verified copy always replaces what is there: a blob that was damaged in place (same size,
        # wrong bytes) is repaired by logging its content again. The new modification time keeps gc away.
        os.makedirs(os.path.dirname(final), exist_ok=True)
        with self._locked(exclusive=False):
            os.replace(temp, final)
            os.utime(final)

    def size(self, path: str) -> int:
        return os.stat(path).st_size

    def exists(self, path: str) -> bool:
        # Whoever asks is usually about to refer to the blob without writing it again (a cache hit), so a
        # blob found is marked fresh as a write would be, under the lock: gc leaves it alone for a grace period.
        try:
            with self._locked(exclusive=False):
                os.utime(path)
        except FileNotFoundError:
            return False
        except OSError:  # a read-only store: nothing can collect the blob there either
            pass
        return os.path.isfile(path)

    def remove(self, path: str) -> None:
        with suppress(FileNotFoundError):
            os.remove(path)

    def walk(self, folder: str) -> Iterator[tuple[str, int, float]]:
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except FileNotFoundError:
            return
        for entry in entries:
            path = f"{folder}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                yield from self.walk(path)
                continue
            with suppress(FileNotFoundError):  # removed since the listing, e.g. by a concurrent gc
                stat = entry.stat(follow_symlinks=False)
                yield path, stat.st_size, stat.st_mtime

    def take_away(self, paths: Sequence[str], cutoff: float) -> list[str]:
        """Delete the blobs at ``paths`` still older than ``cutoff`` when looked at under the lock."""
        removed = []
        for start in range(0, len(paths), _GC_BATCH):
            with self._locked(exclusive=True):
                for path in paths[start : start + _GC_BATCH]:
                    try:
                        if os.stat(path).st_mtime >= cutoff:
                            continue  # written or re-referenced since gc listed it
                        os.remove(path)
                    except FileNotFoundError:
                        continue
                    removed.append(path)
        return removed

    def problem(self) -> str | None:
        """What keeps the folder from being used as a store, or None; the folder is created if missing."""
        probe = f"{self.root}/.reachable-{uuid.uuid4().hex}"
        try:
            os.makedirs(self.root, exist_ok=True)
            with open(probe, "xb"):
                pass
            os.remove(probe)
        except OSError as exc:
            return (
                f"cannot write in the folder {self.root}: {exc.strerror or exc}. Make it writable by this user, "
                "or point SHIPYARD_ARTIFACTS to a folder that is"
            )
        return None

    def presign(self, path: str, method: str, expires: int) -> str | None:
        """A folder has no URLs to hand out: clients go through the server."""
        return None

    def empty_trash(self, referenced: set[str], cutoff: float, dry_run: bool) -> tuple[int, list[str]]:
        """A local store deletes at once and keeps no trash: nothing freed, nothing restored."""
        return 0, []

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        # A descriptor of our own each time: flock belongs to the open file, so threads and forked children
        # never share (or release) each other's lock. Read-only is enough to lock, also for other users.
        fd = os.open(f"{self.root}/{LOCK_FILE}", os.O_RDONLY | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)
