"""The blob store's storage on any fsspec filesystem: object stores (s3://, gs://, …), memory, sftp.

An object store offers no lock that writers and gc could share, and a delete cannot be made conditional
on the object being unchanged since gc looked at it. So gc never deletes a blob outright: it moves it to
a trash generation, and a later gc empties that generation only after a grace period, keeping whatever
something refers to by then::

    trash/<generation>/<hex>    blobs one gc run took away (copied there before being deleted)
    trash/<generation>.sealed   written once that run has taken its last blob

Why nothing acknowledged is lost (writers record their reference within the grace period of writing,
the contract that the grace period states; the store reads are strongly consistent, as S3's have been
since 2020):

* A writer that publishes a blob while gc takes it away either writes after the delete (the blob is back)
  or before it; then the bytes are in the trash, and every read (``open_read``, ``size``, ``exists``)
  that misses a blob looks there and copies it back.
* A generation is emptied only by a gc that started more than a grace period after the generation was
  sealed, and that gc read its references after it started. A writer whose blob was taken away wrote it
  before the seal, so it recorded its reference before that read: the blob is restored, not deleted.
* A generation left unsealed by a gc that died is sealed by a later gc once its newest entry is older
  than the grace period, and emptied by a gc after that.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, suppress
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# Where fsspec implementations keep a file's modification time, in the order tried: local and sftp,
# s3fs, adlfs, gcsfs, and the memory filesystem (whose files are only ever replaced, never changed).
_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created")
_SEALED = ".sealed"
# Object stores delete up to 1,000 keys in one request; copies run concurrently within a batch.
_GC_BATCH = 1000


class FsspecStorage:
    """Blobs on an fsspec filesystem. Paths are strings joined with '/' under ``root``."""

    keeps_trash = True
    # Object stores have no folders, and s3fs's makedirs would even create a missing bucket.
    needs_folders = True
    # Options for the fsspec filesystem, given when the store is opened (a subclass per scheme sets them).
    storage_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root
        self._blobs = f"{root}/blobs/"
        self._trash = f"{root}/trash"

    def open_read(self, path: str) -> IO[bytes]:
        try:
            return self.fs.open(path, "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            if not self._restore(path):
                raise
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]

    def open_write(self, path: str) -> AbstractContextManager[IO[bytes]]:
        self._make_parent(path)
        return self.fs.open(path, "wb")  # type: ignore[no-any-return]

    def publish(self, temp: str, final: str) -> None:
        # Even when the blob exists, the temp is moved over it: a damaged blob is repaired, and the blob gets a
        # fresh modification time, which is how it is refreshed, since object stores cannot touch an object.
        self._make_parent(final)
        self._move(temp, final)

    def size(self, path: str) -> int:
        try:
            return int(self.fs.size(path))
        except FileNotFoundError:
            if not self._restore(path):
                raise
        return int(self.fs.size(path))

    def exists(self, path: str) -> bool:
        return self._is_file(path) or self._restore(path)

    def remove(self, path: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.rm_file(path)
        if path.startswith(self._blobs):  # or a read would bring it back from the trash
            for entry in self._trash_entries(path.rsplit("/", 1)[-1]):
                with suppress(FileNotFoundError):
                    self.fs.rm_file(entry)

    def walk(self, folder: str) -> Iterator[tuple[str, int, float]]:
        try:
            found: dict[str, dict[str, Any]] = self.fs.find(folder, detail=True)
        except FileNotFoundError:
            return
        for path, info in found.items():
            yield path, int(info["size"]), self._mtime(path, info)

    def take_away(self, paths: Sequence[str], cutoff: float) -> list[str]:
        """Move the blobs at ``paths`` into a new trash generation, then seal it; return the paths moved.

        No blob is looked at again first (one request each): a blob written meanwhile is in the trash, from
        where a read or the gc that empties the generation brings it back.
        """
        if not paths:
            return []
        generation = f"{self._trash}/{time.time_ns() // 1_000_000:013d}-{uuid.uuid4().hex[:8]}"
        for start in range(0, len(paths), _GC_BATCH):
            batch = list(paths[start : start + _GC_BATCH])
            # Copied before deleted, so at every moment the bytes are in one place or the other.
            self.fs.copy(batch, [f"{generation}/{p.rsplit('/', 1)[-1]}" for p in batch], on_error="ignore")
            self._remove_batch(batch)
        self.fs.pipe_file(generation + _SEALED, str(time.time()).encode())
        return list(paths)

    def problem(self) -> str | None:
        """What keeps the store from being used, or None; a generic filesystem is found out by its first use."""
        return None

    def presign(self, path: str, method: str, expires: int) -> str | None:
        """A generic filesystem offers no presigned URLs."""
        return None

    def empty_trash(self, referenced: set[str], cutoff: float, dry_run: bool) -> tuple[int, list[str]]:
        """Empty the generations sealed before ``cutoff``, restoring the blobs in ``referenced`` (hex digests).

        Returns the bytes freed and the hex digests restored. ``referenced`` must be read after the time
        that ``cutoff`` counts back from.
        """
        generations: dict[str, list[tuple[str, int, float]]] = {}
        sealed: dict[str, float] = {}
        self.fs.invalidate_cache(self._trash)  # another process's gc may have added a generation
        for path, size, mtime in self.walk(self._trash):
            relative = path[len(self._trash) + 1 :]
            if relative.endswith(_SEALED) and "/" not in relative:
                sealed[relative.removesuffix(_SEALED)] = mtime
            elif "/" in relative:
                generations.setdefault(relative.split("/", 1)[0], []).append((path, size, mtime))
        freed, restored = 0, []
        for name in sorted(generations.keys() | sealed.keys()):
            entries = generations.get(name, [])
            if name not in sealed:
                if not dry_run and max(m for _, _, m in entries) < cutoff:
                    # Its gc died before sealing it; sealed now, it is emptied a grace period from now.
                    self.fs.pipe_file(f"{self._trash}/{name}{_SEALED}", str(time.time()).encode())
                continue
            if sealed[name] >= cutoff:
                continue
            for path, size, _ in entries:
                hex_digest = path.rsplit("/", 1)[-1]
                if hex_digest in referenced:
                    restored.append(hex_digest)
                    if not dry_run:
                        self._restore_from(path, f"{self._blobs}{hex_digest[:2]}/{hex_digest}")
                else:
                    freed += size
            if not dry_run:
                self._remove_all([path for path, _, _ in entries] + [f"{self._trash}/{name}{_SEALED}"])
        return freed, restored

    def _is_file(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def _move(self, source: str, dest: str) -> None:
        self.fs.mv(source, dest)  # FileNotFoundError if source is absent

    def _make_parent(self, path: str) -> None:
        if self.needs_folders:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)

    def _restore(self, path: str) -> bool:
        """Bring the blob at ``path`` back from the trash, if gc took it away; whether it was there."""
        if not path.startswith(self._blobs):
            return False
        return any(self._restore_from(entry, path) for entry in self._trash_entries(path.rsplit("/", 1)[-1]))

    def _restore_from(self, entry: str, path: str) -> bool:
        if self._is_file(path):
            return True
        self._make_parent(path)
        try:
            self.fs.cp_file(entry, path)  # a fresh modification time: gc leaves it alone for a grace period
        except FileNotFoundError:  # emptied meanwhile
            return False
        return True

    def _trash_entries(self, hex_digest: str) -> list[str]:
        # Listings may be cached (s3fs does), and another process's gc may have filled the trash since.
        self.fs.invalidate_cache(self._trash)
        try:
            names = self.fs.ls(self._trash, detail=False)
        except FileNotFoundError:
            return []
        candidates = [f"{name.rstrip('/')}/{hex_digest}" for name in names if not name.endswith(_SEALED)]
        return [entry for entry in candidates if self._is_file(entry)]

    def _remove_all(self, paths: list[str]) -> None:
        for start in range(0, len(paths), _GC_BATCH):
            self._remove_batch(paths[start : start + _GC_BATCH])

    def _remove_batch(self, paths: list[str]) -> None:
        try:
            self.fs.rm(paths)
        except FileNotFoundError:  # one was deleted by someone else meanwhile
            for path in paths:
                with suppress(FileNotFoundError):
                    self.fs.rm_file(path)

    def _mtime(self, path: str, info: dict[str, Any]) -> float:
        for key in _MTIME_KEYS:
            value = info.get(key)
            if isinstance(value, datetime):
                return value.timestamp()
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, str):
                return datetime.fromisoformat(value).timestamp()
        return float(self.fs.modified(path).timestamp())
