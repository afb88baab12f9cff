"""The reads a server answers most, answered ahead of FastAPI when they come in their plain shape.

A ``GET`` of an operation whose arguments are all strings (``runs/get_run?run_id=…``), each sent once, none
unknown, every required one present, with a token seen in the last seconds, is answered here: the same access
check, the same call of the backend on a worker thread, the same JSON, and the same error answers for what the
call raises. FastAPI's routing, dependency solving and exception layers cost a run read twice what the read
itself costs (in-process: 1.3 ms against 0.5 ms on PostgreSQL). Anything else (a missing or repeated argument,
an unknown one, a new token, a list) goes on to FastAPI unchanged, so every refusal keeps the one answer the
documented routes give; only what is identical either way takes this path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.to_thread

from shipyard.client import codec, wire
from shipyard.core.errors import ShipyardError
from shipyard.server.routes import answer, error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from shipyard.core.entities_accounts import Principal
    from shipyard.server.context import ServerContext


def _plain_reads() -> dict[str, wire.Operation]:
    """``GET`` operations of one answer whose arguments are all strings, by path."""
    return {
        op.path: op
        for op in wire.operations()
        if op.verb == "GET" and not op.paged and all(p.annotation is str for p in op.sent)
    }


class FastReads:
    """Pure ASGI middleware, innermost of the server's own (inside the access log and the body limit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reads = _plain_reads()
        self.routes: dict[str | None, Any] = {}  # the app's route per path, for the metrics' route label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.reads.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        args = None if op is None else _arguments(op, scope["query_string"])
        if op is None or args is None:
            await self.app(scope, receive, send)
            return
        context: ServerContext = scope["app"].state.context
        principal = _known_caller(context, scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal.name
        scope["route"] = self._route(scope, op)

        def work() -> Any:
            context.check(op, args, principal)
            return answer(op, context, principal, args)

        try:
            response = await anyio.to_thread.run_sync(work)
        except ShipyardError as exc:
            response = error_response(exc, state.get("request_id"))
        await response(scope, receive, send)

    def _route(self, scope: Scope, op: wire.Operation) -> Any:
        if not self.routes:
            self.routes = {getattr(r, "path", None): r for r in scope["app"].router.routes}
        return self.routes.get(op.path)


def _arguments(op: wire.Operation, query: bytes) -> dict[str, Any] | None:
    """The operation's arguments from a query string, or None when it is not in the plain shape."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    args = dict(pairs)
    names = {p.name for p in op.sent}
    if len(args) != len(pairs) or not args.keys() <= names:
        return None
    if any(p.required and p.name not in args for p in op.sent):
        return None
    return {p.name: codec.from_wire(p.annotation, args.get(p.name, p.default), p.name) for p in op.sent}


def _known_caller(context: ServerContext, scope: Scope) -> Principal | None:
    """The caller when its token was seen in the last seconds; None sends the request the documented way."""
    authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if authorization is None:
        return None
    try:
        key, _secret = context.tokens.key(authorization.decode("latin-1"))
    except ShipyardError:
        return None
    return context.tokens.cached(key)
