"""Webhooks: an alert's JSON posted to a URL, retried with exponential backoff, the outcome kept on the alert.

A webhook that times out, refuses the connection or answers with a status of 500 or more is tried again,
``retries`` more times, waiting ``backoff``, then twice that, and so on. A 4xx answer is not retried (the
request itself is wrong; more of the same will not help). Whatever happens, the alert stays stored with
``notify_state`` ``sent`` or ``failed`` (and the last error), and an evaluation later tries the failed ones
again: a webhook being down loses no alert.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("shipyard.monitoring")


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 5.0,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` to ``url``; never raises (the outcome says what happened)."""
    body = json.dumps(payload, default=str).encode()
    error = None
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "shipyard"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read()
            return Delivery(True, attempt)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500:
                return Delivery(False, attempt, error)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
        log.warning("Webhook %s failed (attempt %d of %d): %s", url, attempt, retries + 1, error)
        if attempt <= retries:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, retries + 1, error)
