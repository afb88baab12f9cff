"""The one place serving turns an exception into an HTTP answer: a status, a JSON body and its headers.

Every route uses :func:`error_answer`: ``/predict`` (answered from the ASGI scope) directly, the FastAPI
routes through :func:`guarded`, and Starlette's own 404 and 405 through the handler :func:`install` adds.
A ``ShipyardError`` answers with its class's ``http_status`` and ``{"error": code, "message": …,
**details}`` (see ``shipyard.core.errors`` for the table); anything else is a fault of the server: 500
``internal_error`` whose message names nothing of the server's insides, the traceback going to the log
under the request id.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from shipyard.core.errors import (
    INTERNAL_ERROR,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    Overloaded,
    ShipyardError,
    TooManyAttempts,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request, Response
    from starlette.exceptions import HTTPException

log = logging.getLogger("shipyard.serving")

INTERNAL_MESSAGE = "The server failed on this request; this is a fault of the server, not of the request."


class ErrorAnswer(NamedTuple):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def error_answer(exc: BaseException, request_id: str | None = None) -> ErrorAnswer:
    """The answer to a request that raised ``exc``; ``request_id`` goes into the body when given.

    A 5xx is logged with its traceback (the client's body says only what it may know).
    """
    if isinstance(exc, ShipyardError):
        status, body = exc.http_status, {"error": exc.code, "message": str(exc), **exc.details}
    else:
        status, body = 500, {"error": INTERNAL_ERROR, "message": INTERNAL_MESSAGE}
    if status >= 500:
        log.error("Request %s failed (%s %s)", request_id or "-", status, body["error"], exc_info=exc)
    if request_id is not None:
        body["request_id"] = request_id
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed):
        headers["allow"] = ", ".join(exc.allowed)
    elif isinstance(exc, (Overloaded, TooManyAttempts)) and exc.retry_after is not None:
        headers["retry-after"] = str(exc.retry_after)
    return ErrorAnswer(status, body, headers)


def install(app: FastAPI, respond: Respond) -> None:
    """Answer Starlette's own routing errors (an unknown path, a method a route does not take) through
    :func:`error_answer`; ``respond(path, answer)`` makes the ``Response`` (and counts it)."""
    from starlette.exceptions import HTTPException

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return respond(request.url.path, error_answer(_framework_error(request, exc)))

    app.add_exception_handler(HTTPException, on_error)


Respond = Callable[[str, ErrorAnswer], "Response"]


def guarded(path: str, route: Callable[..., Awaitable[Response]], respond: Respond) -> Any:
    """``route``, answering whatever it raises through :func:`error_answer` (FastAPI would send a bare 500)."""

    @functools.wraps(route)
    async def answer(*args: Any, **kwargs: Any) -> Response:
        try:
            return await route(*args, **kwargs)
        except Exception as exc:
            return respond(path, error_answer(exc))

    return answer


def _framework_error(request: Request, exc: HTTPException) -> Exception:
    """Starlette's routing errors as ours."""
    path = request.url.path
    if exc.status_code == 404:
        return NotFound(
            f"{request.method} {path}: no such route; the routes are /predict, /feedback, /health, /ready, "
            "/schema, /metrics and /docs."
        )
    if exc.status_code == 405:
        allow = next((value for name, value in (exc.headers or {}).items() if name.lower() == "allow"), "")
        allowed = tuple(method.strip() for method in allow.split(",") if method.strip())
        send = " or ".join(allowed) or "another method"
        return MethodNotAllowed(f"{request.method} {path}: send {send}.", allowed=allowed)
    if exc.status_code < 500:
        return MalformedRequest(f"{request.method} {path}: {exc.detail}")
    return RuntimeError(f"HTTP {exc.status_code} from the framework: {exc.detail}")
