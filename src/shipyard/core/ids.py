"""Identifiers: run ids are 32 lowercase hex characters, sortable by creation time."""

from __future__ import annotations

import os
import re
import threading
import time

from shipyard.core.errors import InvalidInput

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


_lock = threading.Lock()
_last = (0, 0)  # the millisecond and random part of this process's newest id


def new_run_id() -> str:
    """A time-prefixed random id: 12 hex digits of milliseconds, then 20 random hex digits.

    Within a process ids increase in the order they are made, even inside one millisecond (the random part
    of the previous id plus one, as monotonic ULIDs do), so runs made in a loop list newest first.
    """
    global _last
    with _lock:
        millis, random_part = int(time.time() * 1000), int.from_bytes(os.urandom(10))
        if millis <= _last[0] and _last[1] < (1 << 80) - 1:
            millis, random_part = _last[0], _last[1] + 1
        _last = (millis, random_part)
    return f"{millis:012x}{random_part:020x}"


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InvalidInput(
            f"A run id is 32 lowercase hexadecimal characters; got {run_id!r}. "
            "List runs with `shipyard runs list` to find the id."
        )
    return run_id
