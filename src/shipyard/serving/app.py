"""The ASGI app of one deployment: ``/predict``, ``/feedback``, ``/health``, ``/ready``, ``/schema``, ``/metrics``.

``POST /predict`` is answered straight from the ASGI scope, before FastAPI's routing, middleware and
request objects, which would cost more per request than the prediction itself; it reads the raw body and
validates it against the signature itself, and its OpenAPI entry is written from the signature
(``serving.openapi``). The other routes are ordinary FastAPI routes.
A client's mistake is always a 4xx whose JSON body says what was wrong: 400 malformed body (or one in two
forms at once) or query flag, 413 too large, 415 unsupported content type, 422 rows that do not fit the
signature or feedback items that cannot be stored (each problem with its row or item, and field). The
model raising on valid input is a 500 carrying the request id, logged with its traceback; the server stays
up. A client's ``X-Request-Id`` that is too long or holds unsafe characters is replaced by one of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
from fastapi import FastAPI, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from shipyard.core.errors import (
    FeedbackQueueFull,
    InvalidInput,
    MalformedJson,
    MalformedQuery,
    MalformedRequest,
    MethodNotAllowed,
    ModelFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from shipyard.packaging.signature import SignatureMismatch
from shipyard.serving.deployment import Deployment, ServeOptions, Slot
from shipyard.serving.errors import ErrorAnswer, error_answer, guarded, install
from shipyard.serving.metrics import ServerMetrics
from shipyard.serving.openapi import complete, feedback_operation, predict_operation
from shipyard.serving.validation import (
    BODY_FORMS,
    REQUEST_ID_BYTES,
    Batch,
    FeedbackItem,
    RequestInvalid,
    RowValidator,
    feedback_items,
    label_kind,
)

if TYPE_CHECKING:
    from shipyard.serving.predlog import PredictionLog
    from shipyard.tracking import Client

log = logging.getLogger("shipyard.serving")

JSON = "application/json"
ARROW_TYPES = ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")
ACCEPTED = (JSON, *ARROW_TYPES, *PARQUET_TYPES)
_READ_HEADERS = frozenset((b"content-length", b"content-type", b"x-request-id", b"x-entity-id"))
_JSON_HEADER = (b"content-type", JSON.encode())
FEEDBACK_QUEUE = 20_000
"""Feedback items a server's prediction log holds waiting, apart from its predictions (at least twice --max-rows)."""
_COUNTED = frozenset(("/feedback", "/health", "/ready", "/schema", "/metrics"))
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


class ServingApp(FastAPI):
    """The deployment's FastAPI app, with ``/predict`` answered before the framework is entered."""

    def __init__(self, server: _Server, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state.server = server
        self.state.deployment = server.deployment
        self._predict = server.predict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/predict", scope.get("root_path", "") + "/predict"):
            await self._predict(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's description, with ``/predict`` and ``/feedback`` written from the champion's signature."""
        if self.openapi_schema is None:
            server: _Server = self.state.server
            champion = server.deployment.champion
            assert champion is not None
            signature, options = champion.served.loaded.signature, server.options
            predict = predict_operation(signature, max_rows=options.max_rows, max_body_bytes=options.max_body_bytes)
            complete(super().openapi(), predict, feedback_operation(signature, max_items=server.max_feedback_items))
        assert self.openapi_schema is not None
        return self.openapi_schema


def create_app(client: Client, options: ServeOptions, *, prediction_log: PredictionLog | None = None) -> ServingApp:
    """An app serving ``options.ref``; its versions are loaded (and verified) before this returns."""
    metrics = ServerMetrics()
    deployment = Deployment(client, options, metrics)
    deployment.load()
    if prediction_log is None and options.log_predictions:
        prediction_log = _open_log(client, deployment, options)
    server = _Server(deployment, metrics, options, prediction_log)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await deployment.start()
        # Everything loaded so far (the model, the libraries) lives as long as the server: keep it out of the
        # collector's full passes, which would otherwise walk it and pause requests.
        gc.freeze()
        try:
            yield
        finally:
            await server.drain()
            await deployment.stop()
            if prediction_log is not None:
                await asyncio.get_running_loop().run_in_executor(None, prediction_log.close)

    champion = deployment.champion
    assert champion is not None
    app = ServingApp(
        server,
        title=f"Shipyard: {champion.served.name}",
        version=str(champion.served.number),
        description=f"Predictions from {options.ref} (version {champion.served.number}).",
        lifespan=lifespan,
    )
    routes = (
        ("/feedback", server.feedback, "POST", "Ground truth for a request id"),
        ("/health", server.health, "GET", "The process is up"),
        ("/ready", server.ready, "GET", "The model is loaded and warmed"),
        ("/schema", server.schema, "GET", "The served versions and signature"),
        ("/metrics", server.metrics_endpoint, "GET", "Prometheus metrics"),
    )
    for path, route, method, summary in routes:
        app.add_api_route(path, guarded(path, route, server.error_response), methods=[method], summary=summary)
    install(app, server.error_response)
    return app


def _open_log(client: Client, deployment: Deployment, options: ServeOptions) -> PredictionLog | None:
    from shipyard.serving.predlog import PredictionLog

    champion = deployment.champion
    assert champion is not None
    # Room for two feedback requests of the largest size at least (see _Server.max_feedback_items).
    room = max(FEEDBACK_QUEUE, 2 * options.max_rows)
    return PredictionLog(
        client.backend,
        champion.served.version.project,
        champion.served.name,
        max_feedback_queue=room,
        segment_seconds=options.log_segment_seconds,
    )


class _Server:
    def __init__(
        self, deployment: Deployment, metrics: ServerMetrics, options: ServeOptions, plog: PredictionLog | None
    ) -> None:
        self.deployment = deployment
        self.metrics = metrics
        self.options = options
        self.log = plog
        self._dumps = orjson.dumps
        self._loads = orjson.loads
        self._numpy = orjson.OPT_SERIALIZE_NUMPY
        self._prefix = os.urandom(4).hex()
        self._counter = 0
        self._answered = metrics.answered
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        if plog is not None:  # looked up once, not on each request
            from shipyard.serving.predlog import PredictionRecord

            self._record = PredictionRecord

    # /predict ------------------------------------------------------------------------------------

    async def predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /predict``, as a bare ASGI app (see the module's doc)."""
        start = time.perf_counter()
        headers = {name: value for name, value in scope["headers"] if name in _READ_HEADERS}
        given_id = headers.get(b"x-request-id")
        if given_id is not None and REQUEST_ID_BYTES.fullmatch(given_id) is None:
            given_id = None  # too long, or characters that could bloat or inject into logs and headers: ours instead
        request_id = given_id.decode("ascii") if given_id else self._next_id()
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowed(f"{scope['method']} /predict: send a POST.", allowed=("POST",))
            batch, slot, proba = await self._read(scope, headers, receive)
            try:
                predictions, scores = await slot.batcher.predict_scored(batch, proba=proba)
            except SignatureMismatch:  # the package's own signature check, stricter than ours in some corner: 422
                raise
            except Exception as exc:
                self.metrics.model_errors.labels(slot.role).inc()
                message = f"The model failed on this request: {type(exc).__name__}: {exc}"
                raise ModelFailed(message) from exc
        except ClientDisconnect:
            return
        except Exception as exc:  # every error, ours or the client's, answered in one place; the server stays up
            await self._send_error(send, error_answer(exc, request_id), request_id)
            return
        served = slot.served
        body = self._dumps(
            {"predictions": predictions, "model": served.name, "version": served.number, "request_id": request_id},
            option=self._numpy,
        )
        elapsed = time.perf_counter() - start
        self._answered(slot.role, elapsed)
        if self.log is not None:
            self._log(request_id, slot, batch, predictions, elapsed, scores)
        if self.deployment.shadow is not None:
            self._shadow(request_id, batch, proba)
        await _send(send, 200, body, given_id or request_id.encode(), served.number_header)

    async def _read(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive) -> tuple[Batch, Slot, bool]:
        limit = self.options.max_body_bytes
        _check_length(headers, limit)
        kind = _media_type(headers, ACCEPTED)
        body = await _read_body(receive, limit)
        query: bytes = scope.get("query_string", b"")
        proba = bool(query) and _proba(query)
        entity = headers.get(b"x-entity-id")
        slot = self.deployment.choose(None if entity is None else entity.decode("latin-1"))
        validator = slot.served.validator
        if proba and not slot.served.has_proba:
            raise InvalidInput(f"{slot.served.name}@{slot.served.number} gives no probabilities.")
        if kind == JSON:
            return self._json_batch(body, validator), slot, proba
        return _table_batch(body, kind, validator, self.options.max_rows), slot, proba

    def _json_batch(self, body: bytes, validator: RowValidator) -> Batch:
        try:
            payload = self._loads(body)
        except ValueError as exc:
            hint = (
                " JSON has no NaN or Infinity; send null for a missing value."
                if b"NaN" in body or b"Infinity" in body
                else ""
            )
            raise MalformedJson(f"The body is not valid JSON: {exc}.{hint}") from exc
        if not isinstance(payload, dict):
            raise MalformedRequest('Send an object: {"rows": [{…}, …]} or {"columns": {…}}.')
        if len(payload) > 1 and sum(form in payload for form in BODY_FORMS) > 1:
            given = " and ".join(repr(form) for form in BODY_FORMS if form in payload)
            raise MalformedRequest(f"The body has both {given}, which is ambiguous; send the rows in one of them.")
        if "rows" in payload:
            return validator.rows(payload["rows"], max_rows=self.options.max_rows)
        if "columns" in payload:
            return validator.columns(payload["columns"], max_rows=self.options.max_rows)
        if "dataframe_records" in payload:  # MLflow's scoring format, to ease moving over
            return validator.rows(payload["dataframe_records"], max_rows=self.options.max_rows)
        raise MalformedRequest('Send {"rows": [{column: value, …}, …]} or {"columns": {column: […]}}.')

    def _next_id(self) -> str:
        self._counter += 1
        return f"{self._prefix}{self._counter:012x}"

    async def _send_error(self, send: Send, answer: ErrorAnswer, request_id: str) -> None:
        self.metrics.requests.labels("/predict", str(answer.status)).inc()
        extra = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items())
        await _send(send, answer.status, self._dumps(answer.body), request_id.encode("latin-1"), *extra)

    def error_response(self, path: str, answer: ErrorAnswer) -> Response:
        """The answer of a FastAPI route that raised (see ``serving.errors``), counted under its route."""
        if path in _COUNTED:  # never an arbitrary path: it would be a new metric series per typo
            self.metrics.requests.labels(path, str(answer.status)).inc()
        return _response(self._dumps(answer.body), answer.status, answer.headers)

    def _log(
        self, request_id: str, slot: Slot, batch: Batch, predictions: Any, elapsed: float, scores: Any = None
    ) -> None:
        assert self.log is not None
        outputs = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
        # Positional: a record is made per request, and keywords cost more than its other work.
        record = self._record(
            request_id,
            int(time.time() * 1000),
            slot.served.number,
            slot.role,
            batch.columns,
            outputs,
            elapsed * 1000,
            None if scores is None else scores.tolist(),
        )
        self.log.append(record)

    def _shadow(self, request_id: str, batch: Batch, proba: bool) -> None:
        shadow = self.deployment.shadow
        assert shadow is not None

        async def run() -> None:
            start = time.perf_counter()
            try:
                predictions, scores = await shadow.batcher.predict_scored(
                    batch, proba=proba and shadow.served.has_proba
                )
            except Exception:
                self.metrics.shadow_errors.inc()
                log.warning("The shadow %s failed on request %s", shadow.ref, request_id, exc_info=True)
                return
            if self.log is not None:
                self._log(request_id, shadow, batch, predictions, time.perf_counter() - start, scores)

        task = asyncio.get_running_loop().create_task(run())
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def drain(self) -> None:
        """Let shadow predictions in flight finish (at shutdown)."""
        if self._shadow_tasks:
            await asyncio.gather(*self._shadow_tasks, return_exceptions=True)

    # the other routes -----------------------------------------------------------------------------

    @property
    def max_feedback_items(self) -> int:
        """Items one ``/feedback`` request may hold: as many as the rows of the largest ``/predict`` request,
        and never more than the feedback queue holds."""
        if self.log is None:
            return self.options.max_rows
        return min(self.options.max_rows, self.log.max_feedback_queue)

    async def feedback(self, request: Request) -> Response:
        """``POST /feedback``: every item is checked, as ``/predict`` checks rows, then all are queued or none.

        The feedback queue is bounded apart from the predictions' (so labels never crowd out predictions);
        when it has no room for the whole request, the answer is 503 with Retry-After, and nothing is kept.
        """
        headers = {name: value for name, value in request.scope["headers"] if name in _READ_HEADERS}
        limit = self.options.max_body_bytes
        _check_length(headers, limit)
        _media_type(headers, (JSON,))
        try:
            items = self._feedback_items(await _read_body(request.receive, limit))
        except ClientDisconnect:
            return Response(status_code=400)
        if self.log is not None and not self.log.append_feedback_items(items):
            raise FeedbackQueueFull(
                f"The feedback queue is full ({self.log.max_feedback_queue:,} items wait to be written); none of "
                f"these {len(items):,} items was kept. Send them again in a second.",
                retry_after=1,
            )
        accepted = 0 if self.log is None else len(items)
        self.metrics.requests.labels("/feedback", "202").inc()
        return _response(self._dumps({"accepted": accepted, "received": len(items)}), 202)

    def _feedback_items(self, body: bytes) -> list[FeedbackItem]:
        try:
            payload = self._loads(body)
        except ValueError as exc:
            raise MalformedJson(f"The body is not valid JSON: {exc}.") from exc
        shapes = 'Send {"request_id": …, "label": …} or {"items": [{"request_id": …, "label": …}, …]}.'
        if not isinstance(payload, dict):
            raise MalformedRequest(f"The body is a JSON {type(payload).__name__}. {shapes}")
        if "items" in payload and len(payload) > 1:
            others = ", ".join(repr(key) for key in payload if key != "items")
            raise MalformedRequest(f'The body has "items" and also {others}. {shapes}')
        champion = self.deployment.champion
        assert champion is not None
        labels = label_kind(champion.served.loaded.signature.output)
        return feedback_items(payload.get("items", [payload]), labels=labels, max_items=self.max_feedback_items)

    async def health(self) -> Response:
        return _response(b'{"status":"ok"}', 200)

    async def ready(self) -> Response:
        if not self.deployment.ready:
            return _response(b'{"status":"starting"}', 503)
        return _response(self._dumps({"status": "ready", **self._versions()}), 200)

    async def schema(self) -> Response:
        champion = self.deployment.champion
        assert champion is not None
        body = {**champion.served.describe(), "roles": self._versions(), "max_rows": self.options.max_rows}
        return _response(self._dumps(body), 200)

    async def metrics_endpoint(self) -> Response:
        if self.log is not None:
            self.metrics.log_depth.set(self.log.depth)
            self.metrics.log_dropped.set(self.log.dropped)
            self.metrics.log_write_errors.set(self.log.write_errors)
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    def _versions(self) -> dict[str, Any]:
        roles: dict[str, Any] = {
            s.role: {"model": s.served.name, "version": s.served.number, "ref": s.ref} for s in self.deployment.slots()
        }
        canary = self.deployment.canary
        if canary is not None:
            roles["canary"]["share"] = canary.share
        return roles


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The request's body, refused with 413 as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is over the limit of {limit:,} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_length(headers: dict[bytes, bytes], limit: int) -> None:
    """413 at once when the declared Content-Length is over ``limit`` (the body is counted as it is read too)."""
    length = headers.get(b"content-length")
    # More than 18 digits is over any limit, and int() refuses strings of thousands of digits.
    if length is not None and length.isdigit() and (len(length) > 18 or int(length) > limit):
        shown = f"{int(length):,}" if len(length) <= 18 else f"a {len(length)}-digit number of"
        raise PayloadTooLarge(f"The body has {shown} bytes; the limit is {limit:,}.")


def _media_type(headers: dict[bytes, bytes], accepted: tuple[str, ...]) -> str:
    """The request's content type (JSON when none is given); 415 for one not in ``accepted``."""
    given = headers.get(b"content-type")
    kind = JSON if given is None else given.decode("latin-1").split(";")[0].strip().lower()
    if kind not in accepted:
        listed = f"one of {', '.join(accepted)}" if len(accepted) > 1 else accepted[0]
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not accepted; send {listed}.")
    return kind


def _proba(query: bytes) -> bool:
    """The ``proba`` query flag (false when absent); 400 for a value that is not one of the booleans."""
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("proba")
    if values is None:
        return False
    flags = {_FLAGS.get(value.lower()) for value in values}
    if len(flags) == 1 and None not in flags:
        return bool(flags.pop())
    given = "&".join(f"proba={value}" for value in values)
    raise MalformedQuery(
        f"The query {given!r} is not one boolean flag; send proba=true or proba=false "
        "(1/0, yes/no and on/off are accepted too, in any case)."
    )


async def _send(send: Send, status: int, body: bytes, request_id: bytes, *extra: tuple[bytes, bytes]) -> None:
    headers = [_JSON_HEADER, (b"content-length", b"%d" % len(body)), (b"x-request-id", request_id), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _table_batch(body: bytes, kind: str, validator: RowValidator, max_rows: int) -> Batch:
    import pyarrow as pa

    try:
        if kind in PARQUET_TYPES:
            import pyarrow.parquet as pq

            table = pq.read_table(pa.BufferReader(body))
        else:
            table = pa.ipc.open_stream(body).read_all() if kind == ARROW_TYPES[0] else pa.ipc.open_file(body).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedRequest(f"The body is not a readable {kind} table: {exc}.") from exc
    columns = {}
    for name in table.column_names:
        try:
            columns[name] = table.column(name).to_pylist()
        except (OverflowError, ValueError) as exc:  # e.g. a timestamp past the year 9999
            why = f"cannot be read as Python values ({exc}); times must lie within the years 1 to 9999"
            raise RequestInvalid([{"row": None, "field": name, "problem": why}]) from exc
    return validator.columns(columns, max_rows=max_rows)


def _response(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)
