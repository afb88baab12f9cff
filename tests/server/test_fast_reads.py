"""The plain reads answered ahead of FastAPI (``shipyard.server.fast``) answer exactly what the documented
routes answer: the same status and body for every shape of request, allowed or refused, and only plain ones
take the short way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shipyard.server import fast
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from tests._server import RunningServer, server_thread

GET_RUN = "/api/v1/runs/get_run"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("fast")
    with server_thread(str(tmp / "store"), str(tmp / "artifacts"), tmp) as running:
        accounts = running.backend.accounts
        accounts.add_user("alice", actor="test")
        accounts.add_member("alpha", "alice", "viewer", actor="test")
        store = running.backend.store
        store.create_run("ra", project="alpha", name="in alpha")
        store.create_run("rb", project="beta", name="in beta")
        yield running


def _without_fast_path(server: RunningServer) -> FastAPI:
    """The same server's app with the short way taken out: every request through FastAPI."""
    app = create_app(ServerContext(server.backend))
    app.user_middleware = [m for m in app.user_middleware if m.cls is not fast.FastReads]
    return app


def _comparable(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> str:
    return server.backend.accounts.create_token("alice", actor="test")[1]


def _requests(server: RunningServer, alice: str) -> list[tuple[str, dict[str, str]]]:
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    viewer = {"Authorization": f"Bearer {alice}"}
    return [
        (f"{GET_RUN}?run_id=ra", admin),
        (f"{GET_RUN}?run_id=ra", viewer),
        (f"{GET_RUN}?run_id=rb", viewer),  # another project's run: hidden, as an unknown one
        (f"{GET_RUN}?run_id=nope", viewer),
        (f"{GET_RUN}?run_id=", viewer),
        (GET_RUN, viewer),  # the required argument missing
        (f"{GET_RUN}?run_id=ra&run_id=rb", viewer),  # repeated: which one? not the short way's to decide
        (f"{GET_RUN}?run_id=ra&project=beta", viewer),  # an argument the operation does not take
        (f"{GET_RUN}?run_id=rb", {"Authorization": "Bearer sy_not-a-token"}),
        (f"{GET_RUN}?run_id=rb", {"Authorization": "Basic abc"}),
        (f"{GET_RUN}?run_id=rb", {}),
    ]


def test_every_shape_of_request_gets_the_answer_the_documented_route_gives(server: RunningServer, alice: str) -> None:
    with TestClient(_without_fast_path(server)) as documented, httpx.Client(base_url=server.url) as live:
        for path, headers in _requests(server, alice):
            live.get(path, headers=headers)  # once, so the token is one seen in the last seconds
            assert _comparable(live.get(path, headers=headers)) == _comparable(documented.get(path, headers=headers)), (
                path,
                headers,
            )


def test_only_plain_reads_with_a_known_token_take_the_short_way(
    server: RunningServer, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    answer = fast.answer

    def recording(op: Any, *args: Any, **kwargs: Any) -> Any:
        taken.append(op.label)
        return answer(op, *args, **kwargs)

    monkeypatch.setattr(fast, "answer", recording)
    viewer = {"Authorization": f"Bearer {alice}"}
    with httpx.Client(base_url=server.url, headers=viewer) as live:
        live.get(f"{GET_RUN}?run_id=ra")  # the token is now known
        taken.clear()
        assert live.get(f"{GET_RUN}?run_id=ra").status_code == 200
        assert taken == ["runs.get_run"]
        for odd in (GET_RUN, f"{GET_RUN}?run_id=ra&run_id=ra", f"{GET_RUN}?run_id=ra&x=1"):
            live.get(odd)
        assert live.get("/api/v1/runs/search_runs?project=alpha").status_code == 200  # a list: FastAPI's
        assert taken == ["runs.get_run"]


def test_a_read_on_the_short_way_is_counted_under_its_route(server: RunningServer, alice: str) -> None:
    from shipyard.server import metrics

    def answered(status: str) -> float:
        labels = {"method": "GET", "route": GET_RUN, "status": status}
        return metrics.REGISTRY.get_sample_value("shipyard_server_requests_total", labels) or 0.0

    viewer = {"Authorization": f"Bearer {alice}"}
    with httpx.Client(base_url=server.url, headers=viewer) as live:
        live.get(f"{GET_RUN}?run_id=ra")
        before = answered("200"), answered("404")
        assert live.get(f"{GET_RUN}?run_id=ra").status_code == 200
        assert live.get(f"{GET_RUN}?run_id=rb").status_code == 404
    assert (answered("200"), answered("404")) == (before[0] + 1, before[1] + 1)
