"""The server as a boundary, table-driven over every route: tokens, roles, projects, paths, filters, sizes.

Every operation of ``shipyard.client.wire`` and every other ``/api/v1`` route of the app is covered by
iterating them, so a new route is tested without a line here: without a token it is a 401, a role below
its ``Access`` is a 403 that changes nothing and is audited, the role it needs is not refused.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.routing import APIRoute

from shipyard.client import wire
from shipyard.core.digests import digest_bytes
from shipyard.server import blobs
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from shipyard.store._base import now_ms
from shipyard.store.accounts import AccountStore
from tests._server import RunningServer, server_process, server_thread
from tests.server._probe import Rows, arguments, make_rows, send, snapshot

ALPHA, BETA = "alpha", "beta"
DIGEST = digest_bytes(b"security")
OPERATIONS = {op.path: op for op in wire.operations()}
BLOB_ROUTES = {
    f"{wire.API}/blobs/{{digest}}",
    f"{wire.API}/blobs/{{digest}}/stat",
    f"{wire.API}/blobs/{{digest}}/url",
    f"{wire.API}/blobs/{{digest}}/upload",
    f"{wire.API}/blobs/{{digest}}/adopt",
    f"{wire.API}/blobs",
    f"{wire.API}/blobs/gc",
}
NOT_ROUTES = {f"{wire.API}/openapi.json", f"{wire.API}/docs", f"{wire.API}/docs/oauth2-redirect"}
PUBLIC_ROUTES = {f"{wire.API}/login"}
"""Routes without a token: signing in (tests/server/test_login.py)."""
GATE_ROUTES = {f"{wire.API}/gate/evaluate"}
"""The gate run at the server: roles checked in tests/server/test_gate_server.py, tokens here."""


def user_of(role: str) -> str:
    """The user with ``role`` in alpha (``admin`` is taken by the server's first admin)."""
    return f"{role}-of-alpha"


@dataclass
class World:
    server: RunningServer
    spec: dict[str, Any]
    routes: list[APIRoute]
    http: httpx.Client
    tokens: dict[str, str]  # a role in alpha (or outsider, nobody, root) -> a token of that user

    def token(self, user: str) -> str:
        return self.tokens[user]

    def rows(self, project: str = ALPHA) -> Rows:
        return make_rows(self.server.backend, project)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("security")
    with server_thread(str(folder / ".shipyard"), str(folder / "artifacts"), folder) as server:
        tokens = {role: server.token_for(user_of(role), role, ALPHA) for role in wire.ROLES}
        tokens["outsider"] = server.token_for("outsider", "admin", BETA)  # everything in beta, nothing in alpha
        tokens["nobody"] = server.token_for("nobody")  # a user without any role
        tokens["root"] = server.admin_token
        app = create_app(ServerContext(server.backend))
        routes = [
            r
            for r in app.routes
            if isinstance(r, APIRoute) and r.path.startswith(wire.API) and r.path not in PUBLIC_ROUTES
        ]
        spec = httpx.get(f"{server.url}{wire.API}/openapi.json").json()
        with httpx.Client(timeout=30) as http:
            yield World(server, spec, routes, http, tokens)


def _calls(world: World) -> list[tuple[str, str]]:
    return [(method, r.path) for r in world.routes for method in sorted(r.methods - {"HEAD"})]


def _request(world: World, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = world.server.url + path.replace("{digest}", DIGEST)
    return world.http.request(method, url, headers=headers, json={} if method in ("POST", "PUT") else None)


# every route is one of the wire's operations or a blob route, so the tables below cover it --------------


def test_every_api_route_is_an_operation_or_a_blob_route(world: World) -> None:
    paths = {r.path for r in world.routes} - NOT_ROUTES
    assert paths == set(OPERATIONS) | BLOB_ROUTES | GATE_ROUTES


# tokens ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sy_garbage"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": ""}],
    ids=["none", "garbage", "basic", "empty"],
)
def test_every_route_without_a_valid_token_is_401(world: World, headers: dict[str, str]) -> None:
    for method, path in _calls(world):
        answer = _request(world, method, path, headers)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["error"] == "unauthenticated", (method, path)


def test_a_revoked_or_expired_token_is_401_on_every_route(world: World) -> None:
    accounts = world.server.backend.accounts
    accounts.add_user("leaver", actor="test")
    accounts.add_member(ALPHA, "leaver", "admin", actor="test")
    revoked, revoked_secret = accounts.create_token("leaver", actor="test")
    accounts.revoke_token(revoked.id, actor="test")
    yesterday = AccountStore(world.server.backend.store.engine, clock=lambda: now_ms() - 86_400_000)
    _expired, expired_secret = yesterday.create_token("leaver", expires_at=now_ms() - 1000, actor="test")
    for secret in (revoked_secret, expired_secret):
        for method, path in _calls(world):
            answer = _request(world, method, path, {"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 401, (method, path, answer.text)


# roles ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    token: str  # a key of World.tokens
    user: str  # the user the call acts on (for operations on an account)


def _refused_caller(op: wire.Operation) -> tuple[Caller, int]:
    """A caller whose role is just too weak for ``op``, and the status it gets: 403, or 404 for rows of a
    project it has no role in (their ids reveal nothing)."""
    access = op.access
    if access.role == wire.SERVER_ADMIN:
        return Caller("admin", user_of("admin")), 403
    if access.user is not None:
        return Caller("viewer", user_of("editor")), 403  # acting on somebody else's account
    if access.rule == "own_token":
        return Caller("viewer", user_of("viewer")), 404  # revoking somebody else's token
    if access.role == wire.MEMBER:
        return Caller("nobody", "nobody"), 403
    if access.role == "viewer":
        return Caller("outsider", "outsider"), 404 if access.ids else 403
    weaker = wire.ROLES[wire.ROLES.index(access.role) - 1]
    return Caller(weaker, user_of(weaker)), 403


def _allowed_caller(op: wire.Operation) -> Caller:
    access = op.access
    if access.role == wire.SERVER_ADMIN:
        return Caller("root", "admin")
    if access.role == wire.MEMBER:
        return Caller("viewer", user_of("viewer"))
    return Caller(access.role, user_of(access.role))


def _token_id_of(world: World, user: str) -> int:
    token, _secret = world.server.backend.accounts.create_token(user, name="spare", actor="test")
    return token.id


def _denials(world: World, user: str) -> int:
    events = world.server.backend.registry.audit_events(limit=100_000)
    return sum(1 for e in events if e.action == "access.denied" and e.actor == user)


@pytest.mark.parametrize("op", wire.operations(), ids=lambda op: op.label)
def test_a_role_below_the_operation_is_refused_and_changes_nothing(world: World, op: wire.Operation) -> None:
    caller, status = _refused_caller(op)
    rows = world.rows()
    args = arguments(op, world.spec, rows, caller.user)
    if op.access.rule == "own_token":
        args["token_id"] = _token_id_of(world, user_of("editor"))
    before, denied = snapshot(world.server.backend), _denials(world, _user_name(world, caller))
    answer = send(world.server.url, op, args, world.token(caller.token))
    assert answer.status_code == status, answer.text
    assert snapshot(world.server.backend) == before
    if op.verb == "POST":
        assert _denials(world, _user_name(world, caller)) == denied + 1, "a refused write is an audit event"


@pytest.mark.parametrize("op", wire.operations(), ids=lambda op: op.label)
def test_the_role_an_operation_needs_is_not_refused(world: World, op: wire.Operation) -> None:
    caller = _allowed_caller(op)
    args = arguments(op, world.spec, world.rows(), caller.user)
    if op.access.rule == "own_token":
        args["token_id"] = _token_id_of(world, caller.user)
    answer = send(world.server.url, op, args, world.token(caller.token))
    assert answer.status_code not in (401, 403), answer.text
    assert answer.status_code < 500, answer.text


def _user_name(world: World, caller: Caller) -> str:
    return {"root": "admin", "outsider": "outsider", "nobody": "nobody"}.get(caller.token) or user_of(caller.token)


# projects -------------------------------------------------------------------------------------------

SECRET_PROJECT = "project-b-secret"
LISTS = [
    ("runs", "search_runs"),
    ("runs", "list_projects"),
    ("datasets", "list_datasets"),
    ("registry", "list_models"),
    ("registry", "audit_events"),
    ("monitors", "alerts"),
    ("loops", "loops"),
    ("schedules", "list"),
    ("accounts", "members"),
]


def test_a_token_of_one_project_reads_nothing_of_another(world: World) -> None:
    backend = world.server.backend
    world.server.token_for("b-owner", "admin", SECRET_PROJECT)
    theirs = world.rows(SECRET_PROJECT)
    backend.schedules.upsert(
        SECRET_PROJECT, "nightly", target="m:p", cron="0 0 * * *", params={}, options={}, next_run_at=1, actor="test"
    )
    world.rows(ALPHA)
    for part, method in LISTS:
        answer = world.http.get(
            f"{world.server.url}{wire.API}/{part}/{method}",
            headers={"Authorization": f"Bearer {world.token('viewer')}"},
        )
        assert answer.status_code == 200, (method, answer.text)
        assert SECRET_PROJECT not in answer.text, method
        root = world.http.get(
            f"{world.server.url}{wire.API}/{part}/{method}",
            headers={"Authorization": f"Bearer {world.server.admin_token}"},
        )
        assert SECRET_PROJECT in root.text or method in ("members",), method  # the lists do hold it
    by_id = [op for op in wire.operations() if op.access.ids]
    for op in by_id:
        answer = send(world.server.url, op, arguments(op, world.spec, theirs, user_of("admin")), world.token("admin"))
        assert answer.status_code == 404, (op.label, answer.text)
        assert SECRET_PROJECT not in answer.text, op.label


# verdicts, paths, filters -----------------------------------------------------------------------------


def test_verdicts_cannot_be_written_through_the_api(world: World) -> None:
    assert all(op.label != "verdicts.add" for op in wire.operations())
    for method in ("POST", "PUT", "GET"):
        answer = world.http.request(
            method,
            f"{world.server.url}{wire.API}/verdicts/add",
            json={"verdict_id": "v", "passed": True},
            headers={"Authorization": f"Bearer {world.server.admin_token}"},
        )
        assert answer.status_code in (404, 405), answer.text


@pytest.mark.parametrize(
    "path", ["../x", "/etc/passwd", "a/%2e%2e/b", "a/%2E%2e", "a\\..\\b", "C:x", "a/../../b", "a\x00b", ""]
)
def test_artifact_paths_that_escape_are_refused_and_never_stored(world: World, path: str) -> None:
    run = world.rows().run
    op = OPERATIONS[f"{wire.API}/runs/add_artifacts"]
    answer = send(world.server.url, op, {"run_id": run, "items": [[path, DIGEST, 1]]}, world.token("editor"))
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"] in ("invalid_input", "malformed_request"), answer.text
    assert world.server.backend.store.list_artifacts(run) == []


@pytest.mark.parametrize(
    "text", ["' OR 1=1 --", "name = 'x", 'name = "x', "metrics.auc > 1; DROP TABLE runs", "params.a = 'x' OR '1'='1"]
)
def test_filter_injection_is_invalid_input(world: World, text: str) -> None:
    world.rows()
    answer = world.http.get(
        f"{world.server.url}{wire.API}/runs/search_runs",
        params={"project": ALPHA, "filter": text},
        headers={"Authorization": f"Bearer {world.token('viewer')}"},
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"] in ("invalid_input", "invalid_filter", "malformed_request"), answer.text
    assert world.server.backend.store.search_runs(ALPHA)  # the runs table is still there


# sizes ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that takes JSON bodies up to 4 KiB."""
    folder = tmp_path_factory.mktemp("small")
    with server_thread(str(folder / ".shipyard"), str(folder / "artifacts"), folder, max_body_bytes=4096) as server:
        yield server


def _raw(url: str, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send ``head`` and then ``chunks`` until the server answers; the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head)
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n\r\n" not in answer and (data := s.recv(65536)):
            answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
        while len(body) < length and (data := s.recv(65536)):
            body += data
        return head + b"\r\n\r\n" + body


def _head(server: RunningServer, framing: str) -> bytes:
    return (
        f"POST {wire.API}/runs/create_run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.admin_token}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def test_a_body_declared_too_large_is_413(small: RunningServer) -> None:
    answer = _raw(small.url, _head(small, "Content-Length: 5000"), iter([]))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


def test_a_chunked_body_that_grows_past_the_limit_is_413_and_stores_nothing(small: RunningServer) -> None:
    body = json.dumps({"run_id": uuid.uuid4().hex, "project": "p", "name": "x" * 10_000}).encode()
    chunks = (b"%x\r\n%s\r\n" % (len(part), part) for part in (body[i : i + 1000] for i in range(0, len(body), 1000)))
    answer = _raw(small.url, _head(small, "Transfer-Encoding: chunked"), itertools.chain(chunks, [b"0\r\n\r\n"]))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert small.backend.store.list_projects() == []


def test_a_body_under_the_limit_is_served(small: RunningServer) -> None:
    answer = httpx.post(
        f"{small.url}{wire.API}/runs/create_run",
        json={"run_id": uuid.uuid4().hex, "project": "p", "name": "x" * 3000},
        headers={"Authorization": f"Bearer {small.admin_token}"},
    )
    assert answer.status_code == 200, answer.text


def test_a_blob_larger_than_the_json_limit_is_stored(small: RunningServer) -> None:
    blob = b"b" * 10_000
    answer = httpx.put(
        f"{small.url}{wire.API}/blobs/{digest_bytes(blob)}",
        content=blob,
        headers={"Authorization": f"Bearer {small.admin_token}"},
    )
    assert answer.status_code == 201, answer.text


def test_a_blob_declared_over_the_blob_limit_is_413(small: RunningServer) -> None:
    head = (
        f"PUT {wire.API}/blobs/{DIGEST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {small.admin_token}\r\n"
        f"Content-Length: {blobs.MAX_BLOB_BYTES + 1}\r\n\r\n"
    ).encode()
    answer = _raw(small.url, head, iter([]))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# denied writes, logs ----------------------------------------------------------------------------------


def test_a_denied_write_is_an_audit_event_naming_the_actor(world: World) -> None:
    op = OPERATIONS[f"{wire.API}/registry/set_alias"]
    rows = world.rows()
    args = arguments(op, world.spec, rows, user_of("viewer"))
    answer = send(world.server.url, op, args, world.token("viewer"))
    assert answer.status_code == 403
    event = world.server.backend.registry.audit_events(ALPHA, limit=1)[0]
    assert (event.action, event.actor) == ("access.denied", user_of("viewer"))
    assert event.details["operation"] == "registry.set_alias"


def _requests_with_tokens(url: str, token: str, artifacts: Path) -> list[str]:
    """A 200, a 401 with a bad token, a token in a query string, a 404, a 413 and a 500; every secret sent."""
    bad = f"sy_{uuid.uuid4().hex}"
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get(f"{wire.API}/runs/list_projects", headers=auth).status_code == 200
        assert http.get(f"{wire.API}/runs/list_projects", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
        assert http.get(f"{wire.API}/runs/list_projects?token={token}", headers=auth).status_code == 200
        assert http.get(f"{wire.API}/runs/get_run", params={"run_id": "x"}, headers=auth).status_code == 404
        big = {"run_id": uuid.uuid4().hex, "project": "p", "name": "x" * (2 * 1024**2)}
        assert http.post(f"{wire.API}/runs/create_run", json=big, headers=auth).status_code == 413
        blob = uuid.uuid4().bytes
        digest = digest_bytes(blob)
        assert http.put(f"{wire.API}/blobs/{digest}", content=blob, headers=auth).status_code == 201
        stored = artifacts / "blobs" / digest.removeprefix("sha256:")[:2] / digest.removeprefix("sha256:")
        stored.chmod(0o644)
        stored.write_bytes(b"tampered")  # the server's own store is damaged: a fault of the server, a 500
        assert http.get(f"{wire.API}/blobs/{digest}", headers=auth).status_code == 500
    return [token, bad]


def test_tokens_never_appear_in_the_logs_of_a_server_in_process(
    world: World, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server_loggers = ("shipyard", "uvicorn", "uvicorn.error", "uvicorn.access", "starlette", "fastapi")
    for name in server_loggers:
        caplog.set_level(logging.DEBUG, logger=name)
    folder = tmp_path
    with server_thread(str(folder / ".shipyard"), str(folder / "artifacts"), folder, max_body_bytes=1024**2) as server:
        secrets = _requests_with_tokens(server.url, server.admin_token, folder / "artifacts")
    access = [r for r in caplog.records if r.name == "shipyard.server.access"]
    assert len(access) >= 7 and any('"status": 500' in r.getMessage() for r in access)
    ours = [r for r in caplog.records if r.name.split(".")[0] in server_loggers]  # not the test's own client
    text = "".join(caplog.handler.format(r) + str(r.__dict__) for r in ours)
    assert all(secret not in text for secret in secrets)
    assert "Bearer" not in text


def test_tokens_never_appear_in_the_output_of_a_server_process(tmp_path: Path) -> None:
    env = {"SHIPYARD_SERVER_MAX_BODY_MB": "1"}
    with server_process(str(tmp_path / ".shipyard"), str(tmp_path / "artifacts"), tmp_path, env=env) as (server, p):
        secrets = _requests_with_tokens(server.url, server.admin_token, tmp_path / "artifacts")
        p.terminate()
        p.wait(30)
        assert p.stdout is not None and p.stderr is not None
        output = p.stdout.read().decode() + p.stderr.read().decode()
    assert '"status": 500' in output and '"status": 401' in output and '"status": 413' in output
    assert all(secret not in output for secret in secrets[1:])  # the first admin's token is printed once at start
    assert "Bearer" not in output
