"""One connection to ``shipyard server``: the token on every request, retries, timeouts, errors as exceptions.

Requests that fail before an answer arrives (connection refused or reset, a timeout) and answers 502, 503
and 504 are retried with exponential backoff and jitter. Every write carries an ``Idempotency-Key``, the same
on each retry, so a write the server did but whose answer was lost is answered again, not done twice; a 409
with ``Retry-After`` (the first try of that key still runs on the server) is retried too. An error answer
becomes the exception the server raised (by its ``code``), with the server's message.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from typing import Any

from shipyard.client import codec
from shipyard.core import errors
from shipyard.core.errors import MissingDependency, PermissionDenied, ShipyardError, StoreError

RETRIED_STATUSES = frozenset({502, 503, 504})
TOKEN_ENV = "SHIPYARD_TOKEN"


def httpx_module() -> Any:
    try:
        import httpx2
    except ImportError:
        raise MissingDependency.for_extra("httpx2", "client", "Talking to a Shipyard server") from None
    return httpx2


def _error_classes() -> dict[str, type[ShipyardError]]:
    found: dict[str, type[ShipyardError]] = {}
    todo: list[type[ShipyardError]] = [ShipyardError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return found


def error_from(status: int, body: Any, url: str) -> ShipyardError:
    """The exception an error answer stands for; an answer that is not ours still gives a clear one."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        cls = _error_classes().get(str(body.get("error")), ShipyardError)
        error = cls.__new__(cls)
        Exception.__init__(error, body["message"])
        for name, value in body.items():
            if name not in ("error", "message") and not hasattr(type(error), name):
                setattr(error, name, value)
        return error
    if status == 401:
        return errors.Unauthenticated(
            f"The server at {url} refused the request without a valid token; set {TOKEN_ENV} to an API token."
        )
    if status == 403:
        return PermissionDenied(f"The server at {url} refused the request (403).")
    return StoreError(f"The server at {url} answered {status}, which is not a Shipyard answer; is it the right URL?")


class Transport:
    """Requests to one server, on a pool of keep-alive connections shared by threads."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.2,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = os.getpid()

    def _session(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    httpx = httpx_module()
                    headers = {"user-agent": "shipyard-client"}
                    if self.token:
                        headers["authorization"] = f"Bearer {self.token}"
                    self._client = httpx.Client(
                        base_url=self.url,
                        headers=headers,
                        timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                    )
                    self._pid = os.getpid()
        return self._client

    def forget_connections(self) -> None:
        """After ``fork``: the parent's sockets are not this process's to use."""
        self._client = None

    def close(self) -> None:
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None

    def call(
        self,
        verb: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request (retried as the module says); the parsed JSON answer, or None for an empty one."""
        response = self.send(verb, path, params=params, body=body, content=content, headers=headers)
        data = response.content
        return codec.loads(data) if data else None

    def send(
        self,
        verb: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> Any:
        """The response to one request, retried; raises the server's error for a 4xx/5xx answer."""
        httpx = httpx_module()
        sent = dict(headers or {})
        if verb != "GET":
            sent.setdefault("idempotency-key", uuid.uuid4().hex)
        if body is not None:
            content, sent["content-type"] = codec.dumps(body), "application/json"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries or (content is not None and not isinstance(content, (bytes, str)))
            try:
                request = self._session().build_request(verb, path, params=params, content=content, headers=sent)
                response = self._session().send(request, stream=stream)
            except httpx.TransportError as e:
                # A request sent but unanswered in time is sent again once (its idempotency key makes that safe),
                # not more: the server may still be doing it, and each retry would wait the whole timeout again.
                timed_out = isinstance(e, httpx.TimeoutException) and not isinstance(e, httpx.ConnectTimeout)
                if timed_out and attempt >= 1:
                    raise StoreError(
                        f"The Shipyard server at {self.url} did not answer within {self.timeout:g} s "
                        f"({type(e).__name__}); the request may still complete there. Try again later."
                    ) from None
                if last:
                    raise StoreError(
                        f"Cannot reach the Shipyard server at {self.url} ({type(e).__name__}: {e}). Is it running, "
                        "and is SHIPYARD_URI right?"
                    ) from None
            else:
                if response.status_code < 400:
                    return response
                if not _retried(response) or last:
                    if stream:
                        response.read()
                    raise error_from(response.status_code, _json_or_none(response), self.url)
                response.close()
            time.sleep(self.backoff * (2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")


def _retried(response: Any) -> bool:
    return response.status_code in RETRIED_STATUSES or (
        response.status_code == 409 and "retry-after" in response.headers
    )


def _json_or_none(response: Any) -> Any:
    try:
        return codec.loads(response.content)
    except ValueError:
        return None
