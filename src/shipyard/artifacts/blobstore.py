"""The content-addressed blob store: immutable blobs named by the sha256 digest of their bytes.

Layout under the store's root::

    blobs/<hex[:2]>/<hex>    one blob per digest
    tmp/<uuid>               writes in progress
    tmp/staged/<hex>         uploads through a presigned URL, until :meth:`BlobStore.adopt_staged` checks them
    gc.lock                  local stores: where writers and gc take turns (see ``_local``)
    trash/                   object stores: blobs gc took away, kept a grace period (see ``_remote``)

A write streams into a temporary object while hashing it, then moves it to its digest's name, so no
reader ever sees a partial blob. Every read hashes again and raises :class:`CorruptArtifact` on a mismatch.

Local paths and ``file://`` URLs use plain ``open``/``os`` calls, because that is the hot path; every other
URL goes through fsspec, which is imported only then; ``s3://`` through s3fs with what S3 needs on top
(see ``_s3``), configured by the standard AWS environment only.

A server opens the store once at startup and calls :meth:`BlobStore.check_reachable`, which raises a
:class:`StoreError` saying what is wrong (missing bucket, unknown keys, no permission, unreachable).
With direct transfers, it hands a client ``presign_get(digest)`` to download, or ``presign_put(digest)``
to upload and then calls ``adopt_staged(digest)``, which checks the upload before it becomes the blob.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import io
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

from shipyard.artifacts._local import LocalStorage
from shipyard.artifacts._remote import FsspecStorage
from shipyard.core.digests import CHUNK_SIZE, PREFIX, check_digest, digest_bytes, hex_part
from shipyard.core.entities_storage import GcReport
from shipyard.core.errors import CorruptArtifact, InvalidInput, MissingDependency, NotFound, StoreError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# Schemes whose storage needs more than the generic fsspec one: scheme -> "module:class", imported when used.
_STORAGES = {"s3": "shipyard.artifacts._s3:S3Storage", "s3a": "shipyard.artifacts._s3:S3Storage"}
_HEX = re.compile(r"[0-9a-f]{64}")
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_ALLOWED = {errno.EROFS, errno.EACCES, errno.EPERM}


class _Reader(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Storage(Protocol):
    """The few file operations the store needs. Paths are strings joined with '/' under ``root``."""

    root: str
    keeps_trash: bool

    def open_read(self, path: str) -> IO[bytes]: ...  # FileNotFoundError if absent
    def open_write(self, path: str) -> AbstractContextManager[IO[bytes]]: ...  # creates parent folders
    def publish(self, temp: str, final: str) -> None: ...  # move temp over final, which gets a fresh mtime
    def size(self, path: str) -> int: ...
    def exists(self, path: str) -> bool: ...
    def remove(self, path: str) -> None: ...  # no error if absent
    def walk(self, folder: str) -> Iterator[tuple[str, int, float]]: ...  # (path, size, mtime) of files below
    # gc: remove the blobs still older than cutoff, safely against concurrent writers; return those removed
    def take_away(self, paths: Sequence[str], cutoff: float) -> list[str]: ...
    # gc: free what an earlier gc set aside; (bytes freed, hex digests of referenced blobs restored)
    def empty_trash(self, referenced: set[str], cutoff: float, dry_run: bool) -> tuple[int, list[str]]: ...
    def problem(self) -> str | None: ...  # what keeps the store from being used, checked now; None if usable
    def presign(self, path: str, method: str, expires: int) -> str | None: ...  # method "get"/"put"; None: no URLs


class BlobStore:
    """Immutable blobs addressed by ``sha256:<hex>`` digests. Open one with :func:`open_blob_store`.

    >>> store = open_blob_store("memory://doc-example")
    >>> digest, size = store.put_bytes(b"hello")
    >>> store.read_bytes(digest)
    b'hello'
    """

    def __init__(self, storage: _Storage, url: str) -> None:
        self._storage = storage
        self.url = url

    def __repr__(self) -> str:
        return f"BlobStore({self.url!r})"

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store the file at ``path``, streamed in 1 MiB chunks; return its ``(digest, size)``."""
        with open(path, "rb") as source:
            return self.put_stream(source)

    def adopt_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a file the caller is done with; it is moved, not copied, when the store can take it whole.

        On a local store on the same filesystem (see :meth:`scratch_dir`) the file is hashed once, synced,
        and renamed into place; anywhere else it is copied as :meth:`put_file` does, then removed.
        """
        source = os.fspath(path)
        if isinstance(self._storage, LocalStorage):
            with open(source, "rb") as fh:
                sha, size = hashlib.sha256(), 0
                while chunk := fh.read(CHUNK_SIZE):
                    sha.update(chunk)
                    size += len(chunk)
                os.fsync(fh.fileno())
            try:
                self._storage.publish(source, self._blob_path(PREFIX + sha.hexdigest()))
                return PREFIX + sha.hexdigest(), size
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise self._unwritable(exc) from exc
        try:
            return self.put_file(source)
        finally:
            with suppress(FileNotFoundError):
                os.remove(source)

    def scratch_dir(self) -> Path | None:
        """A folder on the store's own filesystem for files that :meth:`adopt_file` will move in; None if remote."""
        if not isinstance(self._storage, LocalStorage):
            return None
        folder = Path(self._join("tmp"))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):  # say so now, not deep inside the caller's tempfile call
                raise PermissionError(errno.EACCES, "the folder is not writable", str(folder))
        except OSError as exc:
            raise self._unwritable(exc) from exc
        return folder

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return its ``(digest, size)``."""
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, stream: _Reader) -> tuple[str, int]:
        """Store everything read from the binary ``stream``; return its ``(digest, size)``.

        The fresh copy replaces a stored blob of the same digest, so storing content again repairs a blob
        damaged on disk, and marks it as freshly written, so that :meth:`gc` leaves it alone for the grace
        period while the caller records its reference. A failure of the store (read-only, full) raises
        :class:`StoreError`; a failure of ``stream`` itself passes through unchanged.
        """
        temp = self._join("tmp", uuid.uuid4().hex)
        source = _Source(stream)
        try:
            with self._storage.open_write(temp) as out:
                digest, size = _copy(source, out)
            self._storage.publish(temp, self._blob_path(digest))
        except BaseException as exc:
            # Whatever failed (the source, the disk, an interrupt), no partial blob or temp stays behind.
            with suppress(OSError):
                self._storage.remove(temp)
            if isinstance(exc, OSError) and exc is not source.error:
                raise self._unwritable(exc) from exc
            raise
        return digest, size

    def exists(self, digest: str) -> bool:
        """Whether the blob ``digest`` is stored. Its bytes are not checked.

        A caller that finds a blob may go on to record a reference to it without storing it again, so a
        blob found counts as freshly written: :meth:`gc` leaves it alone for the grace period.
        """
        return self._storage.exists(self._blob_path(digest))

    def size(self, digest: str) -> int:
        """The size in bytes of the blob ``digest``; :class:`NotFound` if it is not stored."""
        try:
            return self._storage.size(self._blob_path(digest))
        except FileNotFoundError:
            raise self._not_found(digest) from None

    def read_bytes(self, digest: str) -> bytes:
        """The blob's bytes, checked against ``digest``; :class:`CorruptArtifact` if they do not match."""
        with self._open(digest) as blob:
            data = blob.read()
        self._verify(digest, digest_bytes(data), len(data))
        return data

    def download(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the blob to the local file ``dest``, replacing it only once the bytes are verified.

        The bytes stream into a temporary file beside ``dest`` that is renamed into place, so on any failure
        ``dest`` keeps its previous content, or stays absent.
        """
        dest = Path(dest)
        temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        with self._open(digest) as blob:
            source = _Source(blob)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(temp, "xb") as out:
                    actual, size = _copy(source, out)
                self._verify(digest, actual, size)
                os.replace(temp, dest)
            except BaseException as exc:
                temp.unlink(missing_ok=True)
                if isinstance(exc, OSError) and exc is not source.error:
                    raise InvalidInput(
                        f"Cannot write {dest}: {exc.strerror or exc}. Download into a folder you can write to."
                    ) from exc
                raise

    def check_reachable(self) -> None:
        """Raise :class:`StoreError` if the store cannot be read and written now; a server calls it at startup.

        An ``s3://`` store lists its prefix, writes an empty object under ``tmp/`` and deletes it, each with
        short timeouts and no retries, so a missing bucket, unknown or refused credentials, missing
        permissions or an unreachable endpoint are told apart within seconds. A folder is created if
        missing and must be writable. The message never contains a secret.
        """
        problem = self._storage.problem()
        if problem is not None:
            raise StoreError(f"The artifact store {self.url} cannot be used: {problem}.")

    def presign_get(self, digest: str, expires: int = 300) -> str | None:
        """A URL from which anyone holding it can download the blob for ``expires`` seconds; None for a
        store without URLs (a folder, memory://), whose clients go through the server instead.

        Raises :class:`NotFound` if the blob is not stored. The client verifies the digest of what it
        downloads, as every reader does.
        """
        path = self._blob_path(digest)
        url = self._storage.presign(path, "get", _check_expires(expires))
        if url is not None and not self._storage.exists(path):  # exists() also brings it back from the trash
            raise self._not_found(digest)
        return url

    def presign_put(self, digest: str, expires: int = 300) -> str | None:
        """A URL to which a client uploads the bytes of ``digest`` (one HTTP PUT) within ``expires`` seconds;
        None for a store without URLs. The upload lands in a staging object, never in the blob itself: call
        :meth:`adopt_staged` once the client says it is done. A staged upload never adopted is removed by
        :meth:`gc` after the grace period, as temporary files are.
        """
        return self._storage.presign(self._staged_path(digest), "put", _check_expires(expires))

    def adopt_staged(self, digest: str) -> int:
        """Make the upload staged for ``digest`` (see :meth:`presign_put`) the blob, if its bytes hash to
        ``digest``; return its size.

        The staged object is first moved to a temporary object no URL points to, so a client writing to the
        URL again cannot change the bytes between their check and their publication. Raises
        :class:`NotFound` if nothing was uploaded, and :class:`CorruptArtifact` (the upload deleted) if the
        bytes do not match.
        """
        staged, temp = self._staged_path(digest), self._join("tmp", uuid.uuid4().hex)
        with self._writing():
            try:
                self._storage.publish(staged, temp)
            except FileNotFoundError:
                raise NotFound(
                    f"Nothing was uploaded for the blob {digest} to the artifact store {self.url}, or it was adopted "
                    "already. Upload the bytes to the URL from presign_put(digest) first, then adopt them."
                ) from None
            try:
                with self._storage.open_read(temp) as staged_bytes:
                    actual, size = _copy(staged_bytes, _Discard())
                if actual != digest:
                    raise CorruptArtifact(
                        f"The upload for the blob {digest} to the artifact store {self.url} is not that blob: its "
                        f"{size} bytes hash to {actual}. It was deleted; upload the right bytes again."
                    )
                self._storage.publish(temp, self._blob_path(digest))
            except BaseException:
                with suppress(OSError):
                    self._storage.remove(temp)
                raise
        return size

    def delete(self, digest: str) -> None:
        """Remove the blob ``digest``. Removing a blob that is not stored is not an error."""
        self._storage.remove(self._blob_path(digest))

    def iter_blobs(self) -> Iterator[tuple[str, int, float]]:
        """Yield ``(digest, size, mtime)`` for every stored blob, mtime in seconds since the epoch."""
        for path, size, mtime in self._storage.walk(self._join("blobs")):
            name = path.rsplit("/", 1)[-1]
            if _HEX.fullmatch(name):  # anything else is not ours to report
                yield PREFIX + name, size, mtime

    def gc(
        self, referenced: set[str], grace_seconds: float, now: float | None = None, dry_run: bool = False
    ) -> GcReport:
        """Remove blobs not in ``referenced`` and temporary files, if older than ``grace_seconds``.

        The grace period protects a blob written (or written again) whose reference is not recorded yet: a
        writer records it within that time. So read ``referenced`` after ``now`` (default: the current time).
        A blob written or written again after gc listed it is never deleted, however the two interleave:
        a local store takes turns with writers on a lock, an object store sets blobs aside in a trash and
        frees them in a gc at least a grace period later (``trashed_bytes``), restoring any that something
        refers to by then. With ``dry_run`` nothing is changed and the report says what would be.
        """
        for digest in referenced:
            # A malformed reference matches no blob, so the blob it meant to keep would be deleted.
            check_digest(digest)
        if not isinstance(grace_seconds, int | float) or not grace_seconds >= 0:
            raise InvalidInput(
                f"The 'grace_seconds' parameter of BlobStore.gc must be a number >= 0. Got {grace_seconds!r} instead."
            )
        cutoff = (time.time() if now is None else now) - grace_seconds
        report = GcReport()
        with self._writing():
            freed, restored = self._storage.empty_trash({hex_part(d) for d in referenced}, cutoff, dry_run)
        report.freed_bytes, report.restored = freed, [PREFIX + hex_digest for hex_digest in restored]
        candidates: dict[str, tuple[str, int]] = {}
        for digest, size, mtime in self.iter_blobs():
            if digest in referenced or mtime >= cutoff:
                report.kept += 1
            else:
                candidates[self._blob_path(digest)] = (digest, size)
        removed = list(candidates)
        if not dry_run and removed:
            with self._writing():
                removed = self._storage.take_away(removed, cutoff)
        report.kept += len(candidates) - len(removed)
        for path in removed:
            digest, size = candidates[path]
            report.removed.append(digest)
            if self._storage.keeps_trash:
                report.trashed_bytes += size
            else:
                report.freed_bytes += size
        # A temp that old belongs to a writer that crashed or stalled: a live local write refreshes its mtime.
        for path, size, mtime in list(self._storage.walk(self._join("tmp"))):
            if mtime < cutoff:
                if not dry_run:
                    with self._writing():
                        self._storage.remove(path)
                report.freed_bytes += size
        return report

    def _join(self, *parts: str) -> str:
        return "/".join((self._storage.root, *parts))

    def _staged_path(self, digest: str) -> str:
        return self._join("tmp", "staged", hex_part(digest))

    def _blob_path(self, digest: str) -> str:
        hex_digest = hex_part(digest)
        return self._join("blobs", hex_digest[:2], hex_digest)

    @contextmanager
    def _open(self, digest: str) -> Iterator[IO[bytes]]:
        try:
            blob = self._storage.open_read(self._blob_path(digest))
        except FileNotFoundError:
            raise self._not_found(digest) from None
        except OSError as exc:
            raise StoreError(
                f"Cannot read the blob {digest} from the artifact store {self.url}: {exc.strerror or exc}. "
                "Check that the artifact store is readable by this user (and reachable)."
            ) from exc
        with blob:
            yield blob

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise self._unwritable(exc) from exc

    def _unwritable(self, exc: OSError) -> StoreError:
        if exc.errno in _NO_SPACE:
            hint = "The disk is full: free some space (`shipyard gc` removes blobs nothing refers to) and try again."
        elif exc.errno in _NOT_ALLOWED or isinstance(exc, PermissionError):
            hint = (
                "Make it writable, or point the `artifacts` setting (SHIPYARD_ARTIFACTS) to a folder you can "
                "write to; reading what is stored still works."
            )
        else:
            hint = "Check the artifact store and try again."
        where = f" ({exc.filename})" if exc.filename else ""
        return StoreError(f"Cannot write to the artifact store {self.url}: {exc.strerror or exc}{where}. {hint}")

    def _not_found(self, digest: str) -> NotFound:
        return NotFound(
            f"No blob {digest} in the artifact store {self.url}. Check the digest; if a run refers to it, "
            "the blob was deleted or never uploaded, so log the artifact again."
        )

    def _verify(self, digest: str, actual: str, size: int) -> None:
        if actual != digest:
            raise CorruptArtifact(
                f"The blob {digest} in the artifact store {self.url} is corrupt: its {size} bytes hash to {actual}. "
                f"It was truncated or changed after it was stored. Delete it with BlobStore.delete({digest!r}) "
                "and log the artifact again from its source."
            )


class _Source:
    """A stream whose own failures stay its own: the store tells them apart from its storage's failures."""

    def __init__(self, stream: _Reader) -> None:
        self._stream = stream
        self.error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise


class _Discard:
    """A sink for bytes that only need hashing."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def _check_expires(expires: int) -> int:
    # S3 signs URLs for 7 days at most; a bool is an int to Python but never a duration.
    if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= 7 * 24 * 3600:
        raise InvalidInput(
            f"The 'expires' parameter of a presigned URL must be a number of seconds from 1 to 604800 (7 days). "
            f"Got {expires!r} instead."
        )
    return expires


def _copy(source: _Reader, out: IO[bytes] | _Discard) -> tuple[str, int]:
    """Copy ``source`` to ``out`` one chunk at a time, hashing on the way; return ``(digest, size)``."""
    sha = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        sha.update(chunk)
        out.write(chunk)
        size += len(chunk)
    return PREFIX + sha.hexdigest(), size


def open_blob_store(url: str | os.PathLike[str]) -> BlobStore:
    """Open the blob store at ``url``: a local path, ``file:///abs/path``, or an fsspec URL such as
    ``s3://bucket/prefix`` or ``memory://name``.

    Nothing needs to exist yet: folders are created by the first write.
    """
    text = os.fspath(url)
    if not text:
        raise InvalidInput(
            "The artifact store URL is empty; give a folder, 'file:///abs/path' or 's3://bucket/prefix'."
        )
    if "://" not in text:
        root = os.path.abspath(text)
        return BlobStore(LocalStorage(root.rstrip("/")), Path(root).as_uri())
    if text.startswith("file://"):
        return BlobStore(LocalStorage(_file_url_path(text).rstrip("/")), text)
    storage = _storage_class(text.split("://", 1)[0].lower())
    fs, root = _url_to_fs(text, storage.storage_options)
    return BlobStore(storage(fs, root.rstrip("/")), text)


def _storage_class(scheme: str) -> type[FsspecStorage]:
    if scheme not in _STORAGES:
        return FsspecStorage
    module, name = _STORAGES[scheme].split(":")
    found: type[FsspecStorage] = getattr(importlib.import_module(module), name)
    return found


def _file_url_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise InvalidInput(
            f"The artifact store URL {url!r} names the host {parts.netloc!r}, but a file:// URL must name a local "
            "folder by its absolute path, like 'file:///srv/shipyard/artifacts'."
        )
    if not parts.path:
        raise InvalidInput(f"The artifact store URL {url!r} names no folder; write it like 'file:///abs/path'.")
    return url2pathname(parts.path)


def _url_to_fs(url: str, options: dict[str, object]) -> tuple[AbstractFileSystem, str]:
    from fsspec.core import url_to_fs

    try:
        fs, root = url_to_fs(url, **options)
    except ImportError as exc:  # fsspec knows the scheme, but the package implementing it is missing
        if url.startswith(("s3://", "s3a://")):
            raise MissingDependency.for_extra("s3fs", "s3", f"The artifact store {url!r}") from exc
        raise MissingDependency(f"The artifact store {url!r} needs a package that is not installed: {exc}") from exc
    except ValueError as exc:  # raised by fsspec for an unknown scheme
        raise InvalidInput(
            f"Cannot open the artifact store {url!r}: {exc}. Use a folder, a file:// URL, "
            "or a URL that fsspec knows, such as 's3://bucket/prefix'."
        ) from exc
    return fs, root
