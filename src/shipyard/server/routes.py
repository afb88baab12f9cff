"""The ``/api/v1`` routes: one per operation of ``shipyard.client.wire``, made from the table.

Each route reads its arguments (query string or JSON body, checked against the protocol's types; a value of
the wrong type is a 422 naming the field), fills ``actor``/``by`` with the caller, checks the caller's
access, calls the local backend and answers JSON. A list answer is paged: ``page_token`` and ``page_size``
in the query, ``{"items": […], "next_page_token": …}`` in the answer.

A write carrying an ``Idempotency-Key`` header (``HttpBackend`` sends one with every write, the same on each
retry) is done once per key and user: a retry of the same request is answered with the kept answer (the same
status and body, and ``Idempotent-Replay: true``) without doing it again; the key with another request is a
422; a retry while the first one still runs a 409 with ``Retry-After``. Error answers are not kept, so a
retry after one does the request again (``shipyard.store.idempotency``).
"""

from __future__ import annotations

import base64
import collections.abc
import contextlib
import functools
import inspect
import json
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.routing import BaseRoute

from shipyard.client import codec, wire
from shipyard.core.actor import acting_as, granting_override
from shipyard.core.digests import digest_bytes
from shipyard.core.entities import RunPage
from shipyard.core.entities_accounts import Principal
from shipyard.core.errors import Conflict, InvalidInput
from shipyard.server.access import authorize, visible
from shipyard.serving.errors import error_answer
from shipyard.store.idempotency import Answer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext

PAGE_SIZE = 5_000
MAX_PAGE_SIZE = 50_000
IDEMPOTENCY_KEY = "idempotency-key"
RETRY_AFTER_SECONDS = 1


def _camel(text: str) -> str:
    return "".join(word.capitalize() for word in text.split("_"))


def _query_type(annotation: Any) -> Any:
    """Sequences of strings arrive as repeated query parameters (``?states=open&states=acknowledged``)."""
    sequences = (collections.abc.Sequence, tuple, list)
    if any(typing.get_origin(a) in sequences for a in (annotation, *typing.get_args(annotation))):
        return list[str] | None
    return annotation


def _field(name: str) -> str:
    """The body model's attribute for an argument: one that BaseModel has already (``schema``) gets a ``_``."""
    return f"{name}_" if hasattr(BaseModel, name) else name


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(codec.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def error_response(exc: BaseException, request_id: str | None = None) -> Response:
    """The JSON error answer for ``exc``, with the status ``shipyard.core.errors`` gives its class."""
    status, body, headers = error_answer(exc, request_id)
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"page_token {token!r} is not a token this server gave out.") from None
        if start < 0:
            raise InvalidInput(f"page_token {token!r} is not a token this server gave out.")
    end = start + size
    after = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], after


async def _request_digest(request: Request) -> str:
    """The digest of what a write sent (its body, already read and cached, and its query): a retry sends
    the very same bytes."""
    return digest_bytes(await request.body() + b"?" + request.url.query.encode())


def add_operation_routes(app: FastAPI) -> None:
    """The operations' routes, built once per process (FastAPI takes a third of a second to build them) and
    shared by every app: each request finds its server's context on ``request.app.state.context``."""
    app.router.routes.extend(_operation_routes())


@functools.cache
def _operation_routes() -> tuple[BaseRoute, ...]:
    router = APIRouter()
    for op in wire.operations():
        router.add_api_route(
            op.path,
            _endpoint(op),
            methods=[op.verb],
            name=op.label,
            summary=f"{op.attr}.{op.method}",
            tags=[op.part],
            openapi_extra={"x-shipyard-role": op.access.role},
            response_class=JSONResponse,  # for the document: the routes answer their own ``Response``
            response_model=_answer_model(op),
            responses={422: {"model": ErrorBody}, "4XX": {"model": ErrorBody}, "5XX": {"model": ErrorBody}},
        )
    return tuple(router.routes)


async def caller(request: Request) -> Principal:
    """The request's user (a FastAPI dependency): 401 without a valid token."""
    context: ServerContext = request.app.state.context
    return await context.principal(request)


class ErrorBody(BaseModel):
    """Every error answer: the machine ``error`` code of ``shipyard.core.errors``, the message, the request id;
    some errors add fields (``retry_after``, ``problems``)."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    request_id: str | None = None


def _answer_model(op: wire.Operation) -> Any:
    """What the route answers, for the OpenAPI document only (the routes write their JSON themselves): the
    protocol's return type, a page of it for a list."""
    if op.returns is None or op.returns is type(None):
        return None
    answer = codec.wire_type(op.returns)
    if not op.paged:
        return answer
    (item,) = typing.get_args(answer) or (Any,)
    return create_model(
        f"{_camel(op.part)}{_camel(op.method)}Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_page_token=(str | None, None),
    )


def _endpoint(op: wire.Operation) -> Callable[..., Response]:
    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=Principal, default=Depends(caller)),
    ]
    if op.verb == "GET":
        for p in op.sent:
            default = ... if p.required else p.default
            parameters.append(
                inspect.Parameter(
                    p.name, inspect.Parameter.KEYWORD_ONLY, annotation=_query_type(p.annotation), default=Query(default)
                )
            )
    else:
        fields: dict[str, Any] = {
            _field(p.name): (codec.wire_type(p.annotation), Field(... if p.required else p.default, alias=p.name))
            for p in op.sent
        }
        body_model = create_model(
            f"{_camel(op.part)}{_camel(op.method)}Body", __config__=ConfigDict(extra="forbid"), **fields
        )
        parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model))
        parameters.append(
            inspect.Parameter(
                "request_digest", inspect.Parameter.KEYWORD_ONLY, annotation=str, default=Depends(_request_digest)
            )
        )
    if op.paged:
        parameters.append(
            inspect.Parameter("page_token", inspect.Parameter.KEYWORD_ONLY, annotation=str | None, default=Query(None))
        )
        parameters.append(
            inspect.Parameter(
                "page_size",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=int,
                default=Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
            )
        )

    def endpoint(**given: Any) -> Response:
        principal: Principal = given["principal"]
        context: ServerContext = given["request"].app.state.context
        keys = context.idempotency
        if op.verb == "GET":
            args = {p.name: codec.from_wire(p.annotation, given[p.name], p.name) for p in op.sent}
        else:
            body = given["body"]
            args = {p.name: getattr(body, _field(p.name)) for p in op.sent}
        page = (given["page_token"], given["page_size"]) if op.paged else None
        context.check(op, args, principal)
        key = given["request"].headers.get(IDEMPOTENCY_KEY) if op.verb != "GET" else None
        if key is None:
            return answer(op, context, principal, args, page)
        try:
            kept = keys.begin(key, principal.name, op.label, given["request_digest"])
        except Conflict as busy:  # the first request of this key still runs: its answer will be kept
            status, error, _ = error_answer(busy)
            return _json(error, status, {"retry-after": str(RETRY_AFTER_SECONDS)})
        if kept is not None:
            return Response(
                kept.body, status_code=kept.status, media_type="application/json", headers={"idempotent-replay": "true"}
            )
        try:
            response = answer(op, context, principal, args, page)
        except BaseException:
            keys.abandon(key, principal.name)
            raise
        keys.finish(key, principal.name, Answer(response.status_code, bytes(response.body).decode()))
        return response

    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = f"{op.part}_{op.method}"
    return endpoint


def answer(
    op: wire.Operation,
    context: ServerContext,
    principal: Principal,
    args: dict[str, Any],
    page: tuple[str | None, int] | None = None,
) -> Response:
    """Do ``op`` for ``principal`` with the arguments it sent, whose access ``context.check`` allowed, and answer
    JSON (``page``: the page token and size of a list); ``actor``/``by`` are the caller's name, whatever was sent."""
    for name in wire.FILLED_BY_SERVER:
        if any(p.name == name for p in op.params):
            args[name] = principal.name
    call_args = dict(args)
    keywords = next((p for p in op.params if p.keywords), None)
    if keywords is not None:
        call_args.update(call_args.pop(keywords.name) or {})
    part = getattr(context.backend, op.attr)
    # ``check`` let an override through only for an admin of the project: the store may now honour it.
    granted = granting_override() if op.access.rule in ("alias", "override") and args.get("override_reason") else None
    with acting_as(principal.name), granted or contextlib.nullcontext():
        result = getattr(part, op.method)(**call_args)
    if op.access.all_projects and args.get("project") is None:
        if isinstance(result, RunPage):
            result = RunPage(visible(principal, list(result)), result.next_page_token)
        elif isinstance(result, list):
            result = visible(principal, result)
    if op.method == "list_projects":
        result = visible(principal, result)
    wire_answer = codec.to_wire(op.returns, result)
    if page is not None:
        items, token = _page(wire_answer, *page)
        return _json({"items": items, "next_page_token": token})
    return _json(wire_answer)


__all__ = ["add_operation_routes", "answer", "authorize", "error_response"]
