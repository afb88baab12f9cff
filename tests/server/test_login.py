"""``POST /api/v1/login``: a password for a short-lived token; failures are rate-limited on the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests._server import RunningServer, server_thread

PASSWORD = "correct horse battery"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with server_thread(str(tmp_path / ".shipyard"), str(tmp_path / ".shipyard" / "artifacts"), tmp_path) as running:
        running.token_for("alice", "viewer")
        running.backend.accounts.set_password("alice", PASSWORD, actor="test")
        yield running


def test_a_password_gives_a_token_that_works_and_expires(server: RunningServer) -> None:
    answer = httpx.post(f"{server.url}/api/v1/login", json={"name": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["user"] == "alice" and body["token"].startswith("sy_") and body["expires_at"] is not None
    projects = httpx.get(
        f"{server.url}/api/v1/runs/list_projects", headers={"authorization": f"Bearer {body['token']}"}
    )
    assert projects.status_code == 200
    listed = {t.id: t for t in server.backend.accounts.list_tokens("alice")}
    assert listed[body["token_id"]].name == "login" and listed[body["token_id"]].expires_at == body["expires_at"]


@pytest.mark.parametrize(
    "credentials",
    [{"name": "alice", "password": "wrong password!"}, {"name": "nobody", "password": PASSWORD}],
)
def test_a_wrong_password_or_unknown_user_is_401_with_one_message(
    server: RunningServer, credentials: dict[str, str]
) -> None:
    answer = httpx.post(f"{server.url}/api/v1/login", json=credentials)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthenticated"
    assert PASSWORD not in answer.text and "wrong password!" not in answer.text
    assert [t.name for t in server.backend.accounts.list_tokens("alice")] == [""]  # only the fixture's token


def test_repeated_failures_are_refused_for_a_while_even_with_the_right_password(server: RunningServer) -> None:
    statuses = [
        httpx.post(f"{server.url}/api/v1/login", json={"name": "alice", "password": f"wrong {i} password"}).status_code
        for i in range(5)
    ]
    assert statuses == [401] * 5
    refused = httpx.post(f"{server.url}/api/v1/login", json={"name": "alice", "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    "body", [{}, {"name": "alice"}, {"name": "alice", "password": PASSWORD, "admin": True}, {"name": 5, "password": 6}]
)
def test_a_malformed_login_is_a_4xx_that_issues_nothing(server: RunningServer, body: dict[str, object]) -> None:
    answer = httpx.post(f"{server.url}/api/v1/login", json=body)
    assert answer.status_code == 422, answer.text
    assert len(server.backend.accounts.list_tokens("alice")) == 1
