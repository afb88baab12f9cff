"""Idempotency keys at the server: a write sent again with its key is answered again, not done again.

Over SQLite and PostgreSQL, with a server on a thread. The client's own retry is shown through a small TCP
proxy that loses one answer on its way back, as a broken connection would.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shipyard.client.http import HttpBackend
from shipyard.core.digests import digest_bytes
from shipyard.core.errors import Conflict, InvalidInput
from shipyard.store.idempotency import LEASE_MS, TTL_MS, Answer, IdempotencyStore
from tests._server import RunningServer, server_thread
from tests.conftest import BACKENDS, fresh_sqlite_store


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    if request.param == "sqlite":
        uri = fresh_sqlite_store(request, tmp_path / ".shipyard")
    else:
        uri = request.getfixturevalue("migrated_postgres_url")
    with server_thread(uri, str(tmp_path / "artifacts"), tmp_path) as running:
        yield running


def post(server: RunningServer, operation: str, body: dict[str, Any], key: str) -> httpx2.Response:
    headers = {"authorization": f"Bearer {server.admin_token}", "idempotency-key": key}
    return httpx2.post(f"{server.url}/api/v1/{operation}", json=body, headers=headers)


def version_body(digest: str) -> dict[str, Any]:
    return {
        "project": "default", "name": "churn", "flavor": "python_function", "artifact_digest": digest,
        "package": {}, "unsafe_format": False, "files": [], "run_id": None,
    }  # fmt: skip


def test_a_write_sent_twice_with_one_key_stores_its_points_once(server: RunningServer) -> None:
    server.backend.store.create_run("r1", project="default", name="run")
    body = {"run_id": "r1", "metrics_": [["loss", 0.5, 0, 1000], ["loss", 0.4, 1, 1001]]}
    first, again = post(server, "runs/write", body, "k1"), post(server, "runs/write", body, "k1")
    assert (first.status_code, again.status_code, again.content) == (200, 200, first.content)
    assert again.headers["idempotent-replay"] == "true"
    assert len(server.backend.store.get_metric_history("r1", "loss")) == 2
    post(server, "runs/write", body, "k2")  # another key is another write
    assert len(server.backend.store.get_metric_history("r1", "loss")) == 4


def test_a_run_or_a_version_created_twice_with_one_key_is_created_once(server: RunningServer) -> None:
    run = {"run_id": "r1", "project": "default", "name": "run"}
    first, again = post(server, "runs/create_run", run, "k1"), post(server, "runs/create_run", run, "k1")
    assert (first.status_code, again.status_code, again.json()) == (200, 200, first.json())
    assert post(server, "runs/create_run", run, "k2").json()["error"] == "already_exists"
    body = version_body(digest_bytes(b"model"))
    first, again = (
        post(server, "registry/create_version", body, "k3"),
        post(server, "registry/create_version", body, "k3"),
    )
    assert again.json() == first.json() and first.json()["version"] == 1
    assert [v.version for v in server.backend.registry.list_versions("default", "churn")] == [1]


def test_one_key_with_another_request_is_refused(server: RunningServer) -> None:
    post(server, "registry/create_version", version_body(digest_bytes(b"a")), "k1")
    other = post(server, "registry/create_version", version_body(digest_bytes(b"b")), "k1")
    assert (other.status_code, other.json()["error"]) == (422, "invalid_input") and "k1" in other.json()["message"]
    elsewhere = post(server, "runs/create_run", {"run_id": "r1", "project": "default", "name": "run"}, "k1")
    assert elsewhere.status_code == 422
    assert [v.version for v in server.backend.registry.list_versions("default", "churn")] == [1]


def test_an_error_answer_is_not_kept_so_a_retry_may_succeed(server: RunningServer) -> None:
    body = {"run_id": "later", "metrics_": [["loss", 0.5, 0, 1000]]}
    assert post(server, "runs/write", body, "k1").status_code == 404
    server.backend.store.create_run("later", project="default", name="run")
    assert post(server, "runs/write", body, "k1").status_code == 200
    assert len(server.backend.store.get_metric_history("later", "loss")) == 1


def test_a_key_whose_request_still_runs_is_answered_409_retry(server: RunningServer) -> None:
    keys = IdempotencyStore(server.backend.store.engine)
    user = "admin"  # the first admin, whose token ``post`` sends
    run = {"run_id": "r1", "project": "default", "name": "run"}
    sent = httpx2.Request("POST", "http://x", json=run).content
    assert keys.begin("k1", user, "runs.create_run", digest_bytes(sent + b"?")) is None  # as another replica would
    busy = post(server, "runs/create_run", run, "k1")
    assert (busy.status_code, busy.headers["retry-after"]) == (409, "1") and "retry" in busy.json()["message"]
    with pytest.raises(Conflict, match="still being processed"):
        keys.begin("k1", user, "runs.create_run", digest_bytes(sent + b"?"))
    keys.finish("k1", user, Answer(200, '{"done":true}'))
    assert keys.begin("k1", user, "runs.create_run", digest_bytes(sent + b"?")) == Answer(200, '{"done":true}')
    assert server.backend.store.list_projects() == []  # the 409 did nothing


class LosesAnswers:
    """A TCP proxy to a server that loses the next answer when told to: the request reaches the server, its
    answer never reaches the client, whose connection is closed (as when a network breaks at that moment)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.armed = threading.Event()
        self.lost = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, dest: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(1 << 16):
                if answers and self.armed.is_set():
                    self.armed.clear()
                    self.lost += 1
                    break
                if not answers and data.startswith(b"POST "):
                    self.requests.append(data.split(b" ", 2)[1])
                dest.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, dest):
                # shutdown first: it sends the FIN now and wakes the other pipe's recv on this socket, which a
                # close alone leaves waiting (and the client with it, until its timeout)
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def lossy(server: RunningServer) -> Iterator[tuple[LosesAnswers, HttpBackend]]:
    proxy = LosesAnswers(server.url)
    backend = HttpBackend(proxy.url, server.admin_token)
    yield proxy, backend
    backend.close()
    proxy.close()


def test_a_write_whose_answer_is_lost_is_retried_with_its_key_and_done_once(
    server: RunningServer, lossy: tuple[LosesAnswers, HttpBackend]
) -> None:
    proxy, backend = lossy
    run_id = uuid.uuid4().hex
    proxy.armed.set()
    assert backend.store.create_run(run_id, project="default", name="run").id == run_id  # not AlreadyExists
    proxy.armed.set()
    backend.store.write(run_id, metrics_=[("loss", 0.5, 0, 1000)])
    proxy.armed.set()
    assert backend.registry.create_version(**version_body(digest_bytes(b"m")), actor="t").version == 1
    assert proxy.lost == 3
    assert proxy.requests == [
        b"/api/v1/runs/create_run", b"/api/v1/runs/create_run", b"/api/v1/runs/write", b"/api/v1/runs/write",
        b"/api/v1/registry/create_version", b"/api/v1/registry/create_version",
    ]  # fmt: skip
    assert len(server.backend.store.get_metric_history(run_id, "loss")) == 1
    assert [v.version for v in server.backend.registry.list_versions("default", "churn")] == [1]


def test_a_key_expires_after_a_day_and_a_dead_servers_claim_after_its_lease(server: RunningServer) -> None:
    now = [1_000_000_000_000]
    keys = IdempotencyStore(server.backend.store.engine, clock=lambda: now[0])
    assert keys.begin("done", "u", "runs.write", "sha256:a") is None
    keys.finish("done", "u", Answer(200, "null"))
    assert keys.begin("stuck", "u", "runs.write", "sha256:a") is None  # its server never answers
    now[0] += LEASE_MS + 1
    assert keys.begin("done", "u", "runs.write", "sha256:a") == Answer(200, "null")
    assert keys.begin("stuck", "u", "runs.write", "sha256:a") is None  # taken over by the retry
    now[0] += TTL_MS
    assert keys.begin("done", "u", "runs.write", "sha256:b") is None  # a day on, the key is new again
    with pytest.raises(InvalidInput, match="printable"):
        keys.begin("x" * 200, "u", "runs.write", "sha256:a")
