"""The S3 test server: moto's, in a thread of the test process, on 127.0.0.1 (as s3fs's own tests run it).

Fixtures, exposed by ``tests/conftest.py``:

* ``s3_server`` (session): the endpoint URL, ``http://127.0.0.1:<port>``. While it lives, the process
  environment holds the standard AWS variables pointing at it (``AWS_ENDPOINT_URL``, test credentials,
  ``AWS_DEFAULT_REGION``; no profile, no config file, no instance metadata), so Shipyard, and any
  subprocess a test starts (``shipyard server``), reach it with nothing Shipyard-specific set.
* ``s3_bucket`` (function): a fresh bucket, created, as an :class:`S3Bucket` whose ``url`` is
  ``s3://<bucket>/shipyard``; emptied and deleted after the test.

The server runs in this process so that tests can do to it what time or other people would:
:func:`set_mtime` ages an object, :func:`enforce_auth` makes the server check credentials. Outside CI a
missing moto skips the tests that need it; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
PREFIX = "shipyard"
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/shipyard-tests/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/shipyard-tests/aws-credentials",
}
# Would point elsewhere, or override AWS_ENDPOINT_URL for S3.
_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION")


@dataclass(frozen=True)
class S3Bucket:
    name: str
    url: str  # s3://<name>/shipyard
    endpoint: str


def _start() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        message = f"the S3 test server needs moto[server], which is not importable ({exc})"
        if IN_CI:
            pytest.fail(message + "; CI needs it (pip install -c constraints.txt -e '.[dev]')")
        pytest.skip(message)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of the S3 test server; the AWS environment points at it for the session."""
    server = _start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name in _UNSET:
            patch.delenv(name, raising=False)
        for name, value in {**_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(name, value)
        yield endpoint
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: str) -> Iterator[S3Bucket]:
    """A fresh, empty bucket; its ``url`` is ``s3://<bucket>/shipyard``."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    fs = _admin(s3_server)
    fs.mkdir(name)
    yield S3Bucket(name, f"s3://{name}/{PREFIX}", s3_server)
    fs.rm(name, recursive=True)  # the objects, then the bucket: moto keeps them all in memory


@functools.cache
def _admin(endpoint: str) -> Any:
    """A client for creating and deleting buckets; one per server, since each costs a few tenths of a second."""
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True, use_listings_cache=False)


def set_mtime(path: str, mtime: float) -> None:
    """Make the object at ``bucket/key`` look last modified at ``mtime`` (S3 itself offers no way)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket, key = path.split("/", 1)
    obj = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys[key]
    obj.last_modified = datetime.fromtimestamp(mtime, UTC).replace(tzinfo=None)  # moto keeps naive UTC


@contextmanager
def enforce_auth(endpoint: str) -> Iterator[None]:
    """Inside the block the server checks credentials, and knows none: every request is refused."""
    import httpx2 as httpx

    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()
