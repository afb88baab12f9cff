"""Calling an ASGI app in this process: its lifespan started, its requests handed over directly — no socket.

>>> with InProcessServer(app) as server:
...     answer = server.post("/predict", {"rows": [{"tenure": 3}]})
...     answer.status, answer.json()["predictions"]

The app runs on an event loop of its own that turns only while a call is in progress (``post``, ``run``), so
between calls its background tasks — the deployment's alias watcher, the micro-batchers — wait, as a
server's would between requests. That makes the calls synchronous and the order of events exact, which is
what a scripted story needs; a real server is ``shipyard serve`` (uvicorn).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class InProcessServer:
    """An ASGI app with its lifespan run, answering calls made from this thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._lifespan: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Message] | None = None
        self._outbox: asyncio.Queue[Message] | None = None
        self._state: dict[str, Any] = {}

    def __enter__(self) -> InProcessServer:
        self.run(self._startup())
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def run(self, work: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
        """Run ``work`` (e.g. ``app.state.deployment.refresh()``) on the app's loop and return its result."""
        return self._loop.run_until_complete(work)

    def get(self, path: str) -> Answer:
        return self.run(self.request("GET", path, b"", ()))

    def app_state(self, name: str) -> Any:
        """An attribute of the app's ``state`` (a Starlette app's, such as ``deployment``)."""
        return getattr(getattr(self._app, "state"), name)  # noqa: B009  # ASGIApp declares no state

    def post(self, path: str, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Answer:
        """``POST path`` with ``payload`` as JSON."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.run(self.request("POST", path, body, [("content-type", "application/json"), *headers]))

    async def request(self, method: str, path: str, body: bytes, headers: Sequence[tuple[str, str]]) -> Answer:
        """One HTTP request, as a server would hand it to the app."""
        path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
            ],
            "client": ("127.0.0.1", 0),
            "server": ("in-process", 80),
            "state": dict(self._state),
        }
        sent = False
        done = asyncio.Event()
        start: Message = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # nothing more to read: the client "disconnects" once it has its answer
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self._app(scope, receive, send)
        if not start:
            raise RuntimeError(f"{method} {path}: the app sent no response")
        answer_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])}
        return Answer(int(start["status"]), answer_headers, b"".join(chunks))

    def close(self) -> None:
        """Run the app's shutdown (which drains its queues and flushes its log), then close the loop."""
        try:
            if self._lifespan is not None and self._inbox is not None:
                self.run(self._shutdown())
        finally:
            self._loop.close()

    # the lifespan protocol ---------------------------------------------------------------------------

    async def _startup(self) -> None:
        self._inbox, self._outbox = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self._state}
        inbox, outbox = self._inbox, self._outbox

        async def lifespan() -> None:
            await self._app(scope, inbox.get, outbox.put)

        self._lifespan = asyncio.get_running_loop().create_task(lifespan(), name="lifespan")
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"The app failed to start: {reply.get('message', reply['type'])}")

    async def _shutdown(self) -> None:
        assert self._inbox is not None and self._outbox is not None and self._lifespan is not None
        await self._inbox.put({"type": "lifespan.shutdown"})
        reply = await self._outbox.get()
        await self._lifespan
        if reply["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"The app failed to stop cleanly: {reply.get('message', reply['type'])}")
