"""``shipyard server --artifacts-direct``: blobs go between the client and S3 through presigned URLs.

The S3 server is moto's, in this process (tests/_s3.py); its request recorder shows what reached S3, with
every header, so the tests can say that the bytes went there from the client and that the client's token
never did. The server's access log shows which of its routes were called.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest

from shipyard.client import wire
from shipyard.core.digests import digest_bytes
from shipyard.core.errors import InvalidInput
from shipyard.server import blobs
from shipyard.tracking.client import Client
from tests._s3 import S3Bucket
from tests._server import RunningServer, server_process, server_thread

BLOB = b"direct to the object store\n" * 1000


@pytest.fixture
def direct(s3_bucket: S3Bucket, tmp_path: Path) -> Iterator[RunningServer]:
    with server_thread(str(tmp_path / ".shipyard"), s3_bucket.url, tmp_path, artifacts_direct=True) as server:
        yield server


@pytest.fixture
def proxied(s3_bucket: S3Bucket, tmp_path: Path) -> Iterator[RunningServer]:
    with server_thread(str(tmp_path / ".shipyard"), s3_bucket.url, tmp_path) as server:
        yield server


@pytest.fixture
def s3_requests(s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[Any]]]:
    """What reaches the S3 server from now on: moto's recorder, writing to a file of this test."""
    from moto.moto_api import recorder

    log = tmp_path / "s3-requests.jsonl"
    monkeypatch.setattr(recorder, "_location", str(log))  # moto's default is a file in the working directory
    httpx.post(f"{s3_server}/moto-api/recorder/reset-recording").raise_for_status()
    httpx.post(f"{s3_server}/moto-api/recorder/start-recording").raise_for_status()
    try:
        yield lambda: [json.loads(line) for line in log.read_text().splitlines()]
    finally:
        httpx.post(f"{s3_server}/moto-api/recorder/stop-recording").raise_for_status()


def _editor(server: RunningServer) -> str:
    return server.token_for("eve", "editor", "default")


def _routes_hit(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{entry['method']} {entry['path']}"
        for entry in (json.loads(r.getMessage()) for r in caplog.records if r.name == "shipyard.server.access")
    ]


def test_an_artifact_goes_to_s3_and_back_without_passing_through_the_server(
    s3_bucket: S3Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture, s3_requests: Callable[[], list[Any]]
) -> None:
    digest = digest_bytes(BLOB)
    caplog.set_level(logging.INFO, logger="shipyard.server.access")
    with server_thread(str(tmp_path / ".shipyard"), s3_bucket.url, tmp_path, artifacts_direct=True) as server:
        token = _editor(server)
        client = Client(server.url, token=token, capture_environment=False)
        with client.start_run(project="default") as run:
            run.log_artifact(_file(tmp_path, BLOB))
        assert client.read_artifact(run.id, "model.txt") == BLOB
        client.download_artifacts(run.id, "model.txt", tmp_path / "back")
        client.close()
        assert server.backend.blobs.read_bytes(digest) == BLOB  # the server's store holds it, verified
    assert (tmp_path / "back" / "model.txt").read_bytes() == BLOB
    hit = _routes_hit(caplog)  # complete: the server has stopped, every request of it logged
    assert f"POST {wire.API}/blobs/{digest}/upload" in hit
    assert f"POST {wire.API}/blobs/{digest}/adopt" in hit
    assert hit.count(f"GET {wire.API}/blobs/{digest}/url") == 2
    assert f"PUT {wire.API}/blobs/{digest}" not in hit and f"GET {wire.API}/blobs/{digest}" not in hit
    sent = s3_requests()
    client_puts = [r for r in sent if r["method"] == "PUT" and "X-Amz-Signature" in r["url"]]
    assert len(client_puts) == 1 and "tmp/staged/" in client_puts[0]["url"]
    assert sum(1 for r in sent if r["method"] == "GET" and "X-Amz-Signature" in r["url"]) == 2
    assert token not in json.dumps(sent)  # in no header, URL or body that reached S3
    assert not [r for r in sent if "bearer" in json.dumps(r["headers"]).lower()]


def test_the_urls_are_short_lived_and_say_so(direct: RunningServer) -> None:
    digest = digest_bytes(b"x")
    auth = {"Authorization": f"Bearer {_editor(direct)}"}
    answer = httpx.post(f"{direct.url}{wire.API}/blobs/{digest}/upload", headers=auth)
    assert answer.status_code == 200, answer.text
    url, expires_in = answer.json()["url"], answer.json()["expires_in"]
    assert expires_in == blobs.URL_SECONDS <= 900
    # S3 refuses the URL once X-Amz-Date + X-Amz-Expires has passed; the signature covers both. moto does not
    # check expiry, so what is checked here is that the URL carries the lifetime the server announced.
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(expires_in)]


def test_wrong_bytes_are_refused_at_adoption_and_nothing_is_stored(direct: RunningServer) -> None:
    digest = digest_bytes(b"the right bytes")
    auth = {"Authorization": f"Bearer {_editor(direct)}"}
    url = httpx.post(f"{direct.url}{wire.API}/blobs/{digest}/upload", headers=auth).json()["url"]
    assert httpx.put(url, content=b"other bytes").status_code == 200
    answer = httpx.post(f"{direct.url}{wire.API}/blobs/{digest}/adopt", headers=auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_input"
    assert "hash to" in answer.json()["message"]
    assert not direct.backend.blobs.exists(digest)
    again = httpx.post(f"{direct.url}{wire.API}/blobs/{digest}/adopt", headers=auth)
    assert again.status_code == 404, "the wrong upload was deleted, not kept for later"


def test_adopting_what_was_never_uploaded_is_not_found(direct: RunningServer) -> None:
    auth = {"Authorization": f"Bearer {_editor(direct)}"}
    answer = httpx.post(f"{direct.url}{wire.API}/blobs/{digest_bytes(b'never')}/adopt", headers=auth)
    assert answer.status_code == 404, answer.text


def test_a_url_for_a_missing_blob_is_not_found_and_stat_says_direct(direct: RunningServer) -> None:
    digest = digest_bytes(b"missing")
    auth = {"Authorization": f"Bearer {direct.token_for('val', 'viewer', 'default')}"}
    assert httpx.get(f"{direct.url}{wire.API}/blobs/{digest}/url", headers=auth).status_code == 404
    stat = httpx.get(f"{direct.url}{wire.API}/blobs/{digest}/stat", headers=auth).json()
    assert stat == {"exists": False, "size": None, "direct": True}


def test_a_viewer_gets_download_urls_but_no_upload_url(direct: RunningServer) -> None:
    digest, _ = direct.backend.blobs.put_bytes(b"stored")
    auth = {"Authorization": f"Bearer {direct.token_for('val', 'viewer', 'default')}"}
    assert httpx.get(f"{direct.url}{wire.API}/blobs/{digest}/url", headers=auth).status_code == 200
    for route in ("upload", "adopt"):
        answer = httpx.post(f"{direct.url}{wire.API}/blobs/{digest}/{route}", headers=auth)
        assert answer.status_code == 403, (route, answer.text)


def test_a_proxying_server_refuses_the_direct_routes(proxied: RunningServer) -> None:
    digest, _ = proxied.backend.blobs.put_bytes(b"stored")
    auth = {"Authorization": f"Bearer {proxied.admin_token}"}
    for method, route in (("GET", "url"), ("POST", "upload"), ("POST", "adopt")):
        answer = httpx.request(method, f"{proxied.url}{wire.API}/blobs/{digest}/{route}", headers=auth)
        assert answer.status_code == 409, (route, answer.text)
        assert "proxies artifacts" in answer.json()["message"]
    stat = httpx.get(f"{proxied.url}{wire.API}/blobs/{digest}/stat", headers=auth).json()
    assert stat["direct"] is False


def test_the_python_api_on_a_proxying_server_still_goes_through_it(
    s3_bucket: S3Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture, s3_requests: Callable[[], list[Any]]
) -> None:
    digest = digest_bytes(BLOB)
    caplog.set_level(logging.INFO, logger="shipyard.server.access")
    with server_thread(str(tmp_path / ".shipyard"), s3_bucket.url, tmp_path) as server:
        client = Client(server.url, token=_editor(server), capture_environment=False)
        with client.start_run(project="default") as run:
            run.log_artifact(_file(tmp_path, BLOB))
        assert client.read_artifact(run.id, "model.txt") == BLOB
        client.close()
    hit = _routes_hit(caplog)
    assert f"PUT {wire.API}/blobs/{digest}" in hit and f"GET {wire.API}/blobs/{digest}" in hit
    assert not [h for h in hit if h.endswith(("/url", "/upload", "/adopt"))]
    assert not [r for r in s3_requests() if "X-Amz-Signature" in r["url"]], "no presigned URL was used"


def test_a_folder_store_cannot_serve_directly(tmp_path: Path) -> None:
    with (
        pytest.raises(InvalidInput, match="--artifacts-direct needs an artifact store that hands out presigned"),
        server_thread(str(tmp_path / ".shipyard"), str(tmp_path / "artifacts"), tmp_path, artifacts_direct=True),
    ):
        pass


def test_shipyard_server_refuses_direct_over_a_folder_at_startup(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "server", "--artifacts", str(tmp_path / "a"), "--artifacts-direct"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert done.returncode == 2, done.stderr
    assert b"--artifacts-direct needs an artifact store" in done.stderr
    assert b"Traceback" not in done.stderr


def test_the_worker_processes_of_shipyard_server_serve_directly(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    options = ("--artifacts-direct",)
    with server_process(str(tmp_path / ".shipyard"), s3_bucket.url, tmp_path, workers=2, options=options) as (
        server,
        _process,
    ):
        client = Client(server.url, token=server.admin_token, capture_environment=False)
        with client.start_run(project="default") as run:
            run.log_artifact(_file(tmp_path, BLOB))
        assert client.read_artifact(run.id, "model.txt") == BLOB
        client.close()
        stat = httpx.get(
            f"{server.url}{wire.API}/blobs/{digest_bytes(BLOB)}/stat",
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert stat.json() == {"exists": True, "size": len(BLOB), "direct": True}


def _file(folder: Path, data: bytes) -> Path:
    path = folder / "model.txt"
    path.write_bytes(data)
    return path
