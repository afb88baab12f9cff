"""``shipyard server``'s ASGI app: the ``/api/v1`` operations, blobs, health, metrics, one error table.

Every error answers ``{"error": code, "message": …}`` with the status ``shipyard.core.errors`` gives its
class; a request the framework cannot read (a body of the wrong shape) is a 422 naming the field; an
unknown route a 404. Only a fault of the server answers 500, and its body names nothing of the server.
Access logs are one JSON object per request on the ``shipyard.server.access`` logger: method, path, status,
milliseconds, the caller's name, never a token or a query string. A request body larger than
``max_body_bytes`` is a 413, whether its ``Content-Length`` says so or a chunked body grows past it (blob
uploads stream to disk and have their own limit, ``shipyard.server.blobs.MAX_BLOB_BYTES``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from shipyard.client import wire
from shipyard.core.errors import (
    InvalidInput,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ShipyardError,
)
from shipyard.core.version import __version__
from shipyard.server import blobs, gate, login
from shipyard.server.fast import FastReads
from shipyard.server.routes import add_operation_routes, error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from shipyard.server.context import ServerContext

access_log = logging.getLogger("shipyard.server.access")

MAX_BODY_BYTES = 64 * 1024**2
"""The largest JSON request body by default (``shipyard server --max-body-mb``); blobs have their own limit."""


def create_app(
    context: ServerContext,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    artifacts_direct: bool = False,
    threads: int | None = None,
) -> FastAPI:
    """The server's app over ``context`` (its local backend and caches); bodies over ``max_body_bytes`` are 413;
    ``threads``: requests handled at once (the threads sync endpoints run on; default: anyio's 40).

    With ``artifacts_direct`` clients move blobs through presigned URLs of the object store (see
    ``shipyard.server.blobs``); an artifact store that cannot presign is refused here, at startup.
    """
    if artifacts_direct:
        context.serve_artifacts_directly()
    app = FastAPI(
        lifespan=_threads(threads),
        title="Shipyard server",
        version=__version__,
        openapi_url=f"{wire.API}/openapi.json",
        docs_url=f"{wire.API}/docs",
        redoc_url=None,
    )
    app.state.context = context
    _install_errors(app)
    add_operation_routes(app)
    blobs.add_routes(app, context)
    login.add_routes(app, context)
    gate.add_routes(app, context)
    _add_service_routes(app, context)
    _document_tuples_plainly(app)
    app.add_middleware(FastReads)  # innermost of ours: the plain reads skip FastAPI's layers (server/fast.py)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(AccessLog)  # outermost: it logs the 413s of BodyLimit too
    return app


def _threads(threads: int | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Run at most ``threads`` requests' store work at once: as many as the database connections pooled for
    them (``open_local(pool_size=…)``), so a burst waits for a connection rather than opening new ones."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if threads is not None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def _document_tuples_plainly(app: FastAPI) -> None:
    """Write fixed-length arrays of mixed members (a ``(version, created)`` pair) as arrays of their length:
    their ``prefixItems`` are valid OpenAPI 3.1, but common tools (schemathesis among them) mishandle them."""
    made = app.openapi

    def plain(node: Any) -> None:
        if isinstance(node, dict):
            if "prefixItems" in node:
                node.pop("prefixItems")
                node.pop("items", None)
            for value in node.values():
                plain(value)
        elif isinstance(node, list):
            for value in node:
                plain(value)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            plain(made())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _install_errors(app: FastAPI) -> None:
    async def shipyard_error(request: Request, exc: Exception) -> Response:
        return error_response(exc, getattr(request.state, "request_id", None))

    async def unreadable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problem = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "unreadable request"}
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        if problem.get("type") == "json_invalid":
            error: ShipyardError = MalformedJson(f"The request body is not valid JSON: {problem.get('msg')}.")
        else:
            error = InvalidInput(f"{where or 'the request'}: {problem.get('msg')}.")
        return error_response(error, getattr(request.state, "request_id", None))

    async def framework(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error: Exception = NotFound(f"{request.method} {request.url.path}: no such route; see {wire.API}/docs.")
        elif exc.status_code == 405:
            allowed = tuple(m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip())
            error = MethodNotAllowed(
                f"{request.method} {request.url.path}: send {' or '.join(allowed)}.", allowed=allowed
            )
        else:
            error = InvalidInput(f"{request.method} {request.url.path}: {exc.detail}")
        return error_response(error)

    async def fault(request: Request, exc: Exception) -> Response:
        return error_response(exc, getattr(request.state, "request_id", None))

    app.add_exception_handler(ShipyardError, shipyard_error)
    app.add_exception_handler(RequestValidationError, unreadable)
    app.add_exception_handler(HTTPException, framework)
    app.add_exception_handler(Exception, fault)


def _add_service_routes(app: FastAPI, context: ServerContext) -> None:
    from shipyard.server import metrics

    @app.get("/health", include_in_schema=False)
    def health() -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    @app.get("/ready", include_in_schema=False)
    def ready() -> Response:
        context.ready()
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


class AccessLog:
    """Pure ASGI middleware: a request id, the access log line, and the request counters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from shipyard.server import metrics

        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            metrics.observe(scope["method"], label, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                state: Any = scope.get("state", {})
                access_log.info(
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                            "user": state.get("principal"),
                        }
                    )
                )


class BodyLimit:
    """Pure ASGI middleware: a 413 for a body over ``max_bytes``, declared or streamed, outside the blob routes.

    A declared ``Content-Length`` over the limit is answered before the app runs. A chunked body is counted as
    the app reads it; past the limit the read fails, whatever the app answers to that is dropped, and the
    client gets the 413 instead.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = f"{wire.API}/blobs/"

    def _refusal(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than this server takes ({self.max_bytes:,} bytes): send fewer items per "
            "request, or upload large files as blobs; an operator can raise `shipyard server --max-body-mb`."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send(error_response(self._refusal(), request_id), scope, receive, send)
            return
        received, over, started = 0, False, False

        async def counting() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise self._refusal()
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if over:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _send(error_response(self._refusal(), request_id), scope, receive, send)


async def _send(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)
