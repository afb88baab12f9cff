"""The blob store on S3 and S3-compatible servers (MinIO, Ceph, moto), through s3fs.

Nothing here is Shipyard-specific to configure: botocore, which s3fs drives, reads the standard AWS
environment, ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (or ``AWS_PROFILE``, or an instance role),
``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) for a server other than AWS.

What S3 changes against the generic fsspec storage of ``_remote``:

* Writes go up in parts of :data:`PART_SIZE` while they are written (a multipart upload), so memory holds
  one part, never the whole blob; a write that fails is aborted, never completed.
* No folders are made (s3fs's ``makedirs`` would even create a missing bucket), and listings are never
  cached: another replica may have written since.
* :meth:`S3Storage.problem` tells a missing bucket, unknown keys and missing permissions apart, within
  seconds: one listing, one empty write and its delete, with short timeouts and no retries.
* :meth:`S3Storage.presign` hands out URLs that let a client read or write one object directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, ClassVar

from shipyard.artifacts._remote import FsspecStorage

PART_SIZE = 8 << 20
"""Bytes per part of a multipart upload, and per ranged read: S3 accepts parts of 5 MiB and more."""

_METHODS = {"get": "get_object", "put": "put_object"}
# The startup check fails fast: no retries, and a few seconds at most per request.
_QUICK: dict[str, Any] = {"connect_timeout": 3, "read_timeout": 5, "retries": {"total_max_attempts": 1}}


class S3Storage(FsspecStorage):
    """Blobs in an S3 bucket, under a prefix. Paths are ``bucket/prefix/…``."""

    needs_folders = False
    storage_options: ClassVar[dict[str, Any]] = {
        "default_block_size": PART_SIZE,
        "use_listings_cache": False,
        # botocore waits 60 s for a connection by default; a store that does not answer in 10 s is down.
        # Presigned URLs signed with SigV4: the only version AWS accepts for new buckets and in newer regions.
        "config_kwargs": {"connect_timeout": 10, "signature_version": "s3v4"},
    }

    @contextmanager
    def open_write(self, path: str) -> Iterator[IO[bytes]]:
        out = self.fs.open(path, "wb")
        try:
            yield out
        except BaseException:
            out.discard()  # aborts the multipart upload, so no partial object is ever completed
            out.closed = True  # nothing left to flush
            raise
        out.close()

    def problem(self) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        options = self.fs.storage_options
        fs = type(self.fs)(
            **{
                **options,
                "skip_instance_cache": True,  # a client of its own, with the credentials in force now
                "config_kwargs": {**options.get("config_kwargs", {}), **_QUICK},
            }
        )
        fs.retries = 1  # s3fs's own retry loop, around botocore's
        bucket, _, prefix = self.root.partition("/")
        probe = f"{self.root}/tmp/reachable-{uuid.uuid4().hex}"
        try:
            fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
            fs.pipe_file(probe, b"")
            fs.rm_file(probe)
        except (OSError, BotoCoreError, ClientError) as exc:  # s3fs turns most ClientErrors into OSErrors
            return _explain(exc, bucket, f"s3://{self.root}", _endpoint(fs))
        return None

    # fsspec's generic exists() and mv() also list the prefix, to tell "folders" apart: one request here.
    def _is_file(self, path: str) -> bool:
        bucket, _, key = path.partition("/")
        try:
            self.fs.call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def _move(self, source: str, dest: str) -> None:
        self.fs.cp_file(source, dest)  # a server-side copy: the bytes do not pass through here
        self.fs.rm_file(source)

    def presign(self, path: str, method: str, expires: int) -> str | None:
        return str(self.fs.url(path, expires=expires, client_method=_METHODS[method]))


def _endpoint(fs: Any) -> str:
    try:
        fs.connect()
        return str(fs.s3.meta.endpoint_url)
    except Exception:  # only for a message, about a failure already found: never hide it behind another
        return "AWS S3"


def _explain(exc: Exception, bucket: str, where: str, endpoint: str) -> str:
    """What ``exc`` means for the store at ``where``, with what to do; never with a secret in it."""
    code = _error_code(exc)
    name = type(exc).__name__
    if code in ("NoSuchBucket", "404"):
        return f"the bucket {bucket!r} does not exist at {endpoint}; create it or fix SHIPYARD_ARTIFACTS"
    if code in ("InvalidAccessKeyId", "InvalidClientTokenId"):
        return (
            f"the access key (AWS_ACCESS_KEY_ID, or the profile in use) is not known at {endpoint}; fix the credentials"
        )
    if code == "SignatureDoesNotMatch":
        return (
            f"{endpoint} refused the secret key (AWS_SECRET_ACCESS_KEY): it does not belong to the access key; "
            "fix the credentials"
        )
    if code in ("ExpiredToken", "InvalidToken", "TokenRefreshRequired"):
        return "the session token (AWS_SESSION_TOKEN) has expired or is not valid; renew the credentials"
    if code in ("AccessDenied", "AllAccessDisabled", "403"):
        return (
            f"the credentials may not list, write and delete objects in {where} at {endpoint}; grant them "
            "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject there"
        )
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) "
            "in the environment of the process that opens the store"
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError"):
        return f"cannot reach {endpoint} ({exc}); check AWS_ENDPOINT_URL and the network"
    return f"{endpoint} answered {code or name}: {exc}"


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code of ``exc`` or of what it wraps: s3fs turns botocore's ClientError into an OSError."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", "")) or None
        seen = seen.__cause__ or seen.__context__
    return None
