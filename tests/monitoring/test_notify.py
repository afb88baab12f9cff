"""Webhooks: retried with backoff on timeouts and 5xx, not on 4xx, and never raising."""

from __future__ import annotations

import pytest

from shipyard.monitoring.notify import post_json
from tests.monitoring.conftest import Hook


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
