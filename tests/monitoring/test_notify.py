"""Webhooks: retried with backoff on timeouts and 5xx, not on 4xx, and never raising."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shipyard.monitoring.notify import post_json


class Hook:
    """A local HTTP server answering POSTs with the statuses given, in order (then 200)."""

    def __init__(self, statuses: list[int | str]) -> None:
        self.statuses = statuses
        self.received: list[Any] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == "hang":
                    hook.release.wait(10)
                    status = 200
                self.send_response(int(status))
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(request: pytest.FixtureRequest) -> Iterator[Hook]:
    server = Hook(list(request.param))
    yield server
    server.close()


@pytest.mark.parametrize("hook", [[500, 503]], indirect=True)
def test_server_errors_are_retried_with_growing_waits(hook: Hook) -> None:
    waits: list[float] = []
    delivery = post_json(hook.url, {"alert": 1}, retries=3, backoff=0.5, sleep=waits.append)
    assert (delivery.ok, delivery.attempts, waits) == (True, 3, [0.5, 1.0])
    assert hook.received == [{"alert": 1}] * 3


@pytest.mark.parametrize("hook", [[500, 500, 500]], indirect=True)
def test_a_webhook_that_keeps_failing_gives_up_with_the_error(hook: Hook) -> None:
    delivery = post_json(hook.url, {"alert": 1}, retries=2, sleep=lambda _s: None)
    assert (delivery.ok, delivery.attempts, delivery.error) == (False, 3, "HTTP 500 Internal Server Error")


@pytest.mark.parametrize("hook", [[404]], indirect=True)
def test_a_client_error_is_not_retried(hook: Hook) -> None:
    delivery = post_json(hook.url, {}, retries=3, sleep=lambda _s: None)
    assert (delivery.ok, delivery.attempts, delivery.error) == (False, 1, "HTTP 404 Not Found")


@pytest.mark.parametrize("hook", [["hang"]], indirect=True)
def test_a_timeout_is_retried(hook: Hook) -> None:
    delivery = post_json(hook.url, {}, timeout=0.2, retries=1, sleep=lambda _s: None)
    assert (delivery.ok, delivery.attempts) == (True, 2)


def test_nobody_listening_is_a_failed_delivery() -> None:
    delivery = post_json("http://127.0.0.1:9/nothing", {}, timeout=1, retries=1, sleep=lambda _s: None)
    assert not delivery.ok and delivery.attempts == 2 and "refused" in (delivery.error or "").lower()
