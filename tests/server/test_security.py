"""The server as a boundary, table-driven over every route: tokens, roles, projects, paths, filters, sizes.

Every operation of ``shipyard.client.wire`` and every other ``/api/v1`` route of the app is covered by
iterating them, so a new route is tested without a line here: without a token it is a 401, a role below
its ``Access`` is a 403 that changes nothing and is audited, the role it needs is not refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.routing import APIRoute

from shipyard.client import wire
from shipyard.core.digests import digest_bytes
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from shipyard.store._base import now_ms
from shipyard.store.accounts import AccountStore
from tests._server import RunningServer, server_thread
from tests.server._probe import Rows, arguments, make_rows, send, snapshot

ALPHA, BETA = "alpha", "beta"
DIGEST = digest_bytes(b"security")
OPERATIONS = {op.path: op for op in wire.operations()}
BLOB_ROUTES = {f"{wire.API}/blobs/{{digest}}", f"{wire.API}/blobs/{{digest}}/stat"}
NOT_ROUTES = {f"{wire.API}/openapi.json", f"{wire.API}/docs", f"{wire.API}/docs/oauth2-redirect"}


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
        routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith(wire.API)]
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
    assert paths == set(OPERATIONS) | BLOB_ROUTES


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
