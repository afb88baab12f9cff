"""What only S3 has: multipart uploads, the startup check, presigned URLs; and the whole loop on an S3 store.

The blob store's common behaviour runs on S3 in test_blobstore.py and test_gc.py (the ``backend`` fixture);
the server is moto's, started by tests/_s3.py on 127.0.0.1.
"""

import os
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.artifacts import BlobStore, open_blob_store
from shipyard.artifacts._s3 import PART_SIZE
from shipyard.core.digests import digest_bytes
from shipyard.core.errors import CorruptArtifact, InvalidInput, NotFound, StoreError
from tests._s3 import S3Bucket, enforce_auth

pytestmark = pytest.mark.s3
MiB = 1 << 20


@pytest.fixture
def store(s3_bucket: S3Bucket) -> BlobStore:
    return open_blob_store(s3_bucket.url)


def s3_calls(store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Record the S3 requests the store's files make (method name and arguments), as they are made."""
    fs = store._storage.fs  # type: ignore[attr-defined]
    calls: list[tuple[str, dict[str, Any]]] = []
    call_s3 = fs.call_s3

    def recording(method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((method, kwargs))
        return call_s3(method, *args, **kwargs)

    monkeypatch.setattr(fs, "call_s3", recording)
    return calls


def test_a_large_file_goes_up_in_parts_of_bounded_size(
    store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(20 * MiB))
    calls = s3_calls(store, monkeypatch)
    digest, size = store.put_file(source)
    parts = [len(kwargs["Body"]) for method, kwargs in calls if method == "upload_part"]
    assert (sum(parts), len(parts), max(parts)) == (20 * MiB, 3, PART_SIZE)  # memory held one part at a time
    assert "complete_multipart_upload" in [method for method, _ in calls]
    assert (digest, size) == (digest_bytes(source.read_bytes()), 20 * MiB)
    store.download(digest, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()


class FailsAfter:
    """A source that yields ``limit`` bytes in 1 MiB chunks, then fails like a dropped connection."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError("source went away")
        self.left -= MiB
        return b"x" * MiB


def test_a_failed_large_write_is_aborted_not_completed(
    store: BlobStore, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = s3_calls(store, monkeypatch)
    with pytest.raises(ConnectionResetError):
        store.put_stream(FailsAfter(2 * PART_SIZE))
    methods = [method for method, _ in calls]
    assert "upload_part" in methods
    assert "complete_multipart_upload" not in methods
    fs = store._storage.fs  # type: ignore[attr-defined]
    assert fs.find(s3_bucket.name) == []
    assert fs.call_s3("list_multipart_uploads", Bucket=s3_bucket.name).get("Uploads", []) == []


def test_check_reachable_accepts_a_usable_bucket_and_leaves_nothing_behind(
    store: BlobStore, s3_bucket: S3Bucket
) -> None:
    store.check_reachable()
    assert store._storage.fs.find(s3_bucket.name) == []  # type: ignore[attr-defined]


def test_a_missing_bucket_is_named_at_the_startup_check(s3_server: str) -> None:
    store = open_blob_store("s3://no-such-bucket/shipyard")
    message = f"the bucket 'no-such-bucket' does not exist at {s3_server}; create it or fix SHIPYARD_ARTIFACTS"
    with pytest.raises(StoreError, match=message):
        store.check_reachable()


def test_unknown_credentials_are_named_at_the_startup_check_without_the_secret(
    store: BlobStore, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    with enforce_auth(s3_server), pytest.raises(StoreError) as caught:
        store.check_reachable()
    assert f"the access key (AWS_ACCESS_KEY_ID, or the profile in use) is not known at {s3_server}" in str(caught.value)
    assert "very-secret-value" not in str(caught.value)


@pytest.fixture
def access_key(s3_server: str) -> dict[str, str]:
    """An access key of a new IAM user on the S3 test server, allowed nothing."""
    import botocore.session

    iam = botocore.session.get_session().create_client("iam")
    name = f"user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key: dict[str, str] = iam.create_access_key(UserName=name)["AccessKey"]
    return key


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("wrong-secret-value", "refused the secret key (AWS_SECRET_ACCESS_KEY): it does not belong to the access key"),
        (None, "the credentials may not list, write and delete objects in s3://{bucket}/shipyard at {endpoint}; grant"),
    ],
)
def test_refused_credentials_are_told_apart_at_the_startup_check(
    store: BlobStore,
    s3_bucket: S3Bucket,
    access_key: dict[str, str],
    secret: str | None,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret or access_key["SecretAccessKey"])
    with enforce_auth(s3_bucket.endpoint), pytest.raises(StoreError) as caught:
        store.check_reachable()
    assert problem.format(bucket=s3_bucket.name, endpoint=s3_bucket.endpoint) in str(caught.value)
    assert access_key["SecretAccessKey"] not in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value)


def test_an_unreachable_endpoint_fails_the_startup_check_within_seconds(
    s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    store = open_blob_store(s3_bucket.url)
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot reach http://127\.0\.0\.1:9 .*; check AWS_ENDPOINT_URL"):
        store.check_reachable()
    assert time.monotonic() - started < 5


def test_a_presigned_get_downloads_the_blob_with_a_plain_http_client(store: BlobStore) -> None:
    digest, _ = store.put_bytes(b"weights")
    url = store.presign_get(digest, expires=60)
    assert url is not None
    answer = httpx.get(url)
    assert (answer.status_code, answer.content) == (200, b"weights")


def test_a_presigned_get_for_a_missing_blob_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound, match=r"No blob sha256:0{64}"):
        store.presign_get("sha256:" + "0" * 64)


def test_a_presigned_put_is_adopted_once_its_bytes_match(store: BlobStore) -> None:
    digest = digest_bytes(b"uploaded directly")
    url = store.presign_put(digest)
    assert url is not None
    httpx.put(url, content=b"uploaded directly").raise_for_status()
    assert not store.exists(digest)  # staged, not published, until the server checked it
    assert store.adopt_staged(digest) == len(b"uploaded directly")
    assert store.read_bytes(digest) == b"uploaded directly"
    with pytest.raises(NotFound, match="adopted already"):
        store.adopt_staged(digest)


def test_a_presigned_put_with_other_bytes_is_refused_and_deleted(store: BlobStore, s3_bucket: S3Bucket) -> None:
    digest = digest_bytes(b"the model")
    url = store.presign_put(digest)
    assert url is not None
    httpx.put(url, content=b"something else").raise_for_status()
    with pytest.raises(CorruptArtifact, match=f"upload for the blob {digest} .* is not that blob: its 14 bytes"):
        store.adopt_staged(digest)
    assert not store.exists(digest)
    assert store._storage.fs.find(s3_bucket.name) == []  # type: ignore[attr-defined]


def test_adopting_what_was_never_uploaded_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound, match="Upload the bytes to the URL from presign_put"):
        store.adopt_staged(digest_bytes(b"never sent"))


@pytest.mark.parametrize("expires", [0, -5, 8 * 24 * 3600, 1.5, True])
def test_presigned_urls_live_from_a_second_to_seven_days(store: BlobStore, expires: Any) -> None:
    with pytest.raises(InvalidInput, match=f"'expires' parameter .* Got {expires!r} instead"):
        store.presign_put(digest_bytes(b"x"), expires=expires)


@pytest.mark.parametrize("url", ["{tmp}/store", "memory://no-urls"])
def test_stores_without_urls_presign_nothing(url: str, tmp_path: Path) -> None:
    store = open_blob_store(url.format(tmp=tmp_path))
    digest, _ = store.put_bytes(b"x")
    assert (store.presign_get(digest), store.presign_put(digest)) == (None, None)
    store.check_reachable()


def test_the_whole_loop_on_sqlite_and_s3(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"tenure": rng.integers(0, 72, 100), "calls": rng.integers(0, 9, 100)})
    data["churned"] = (data["calls"] * 8 - data["tenure"] > 0).astype(int)
    features = data[["tenure", "calls"]]
    settings = {"uri": str(tmp_path / ".shipyard"), "artifacts": s3_bucket.url}
    with closing(sy.Client(**settings, capture_environment=False, cwd=tmp_path)) as client:
        train = client.datasets.register("churn-train", data)
        with client.start_run(name="fit") as run:
            clf = LogisticRegression().fit(features, data["churned"])
            logged = run.log_model(clf, "churn", train_data=train)
    assert not (tmp_path / ".shipyard" / "artifacts").exists()  # every byte went to the bucket
    with closing(sy.Client(**settings, capture_environment=False, cwd=tmp_path)) as client:
        assert client.datasets.load("churn-train@1").num_rows == 100
        assert np.array_equal(client.models.load("churn@1").predict(features), clf.predict(features))
    stored = {digest for digest, _, _ in open_blob_store(s3_bucket.url).iter_blobs()}
    assert {train.blob_digest, logged.artifact_digest} <= stored
