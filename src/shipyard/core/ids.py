"""Identifiers: run ids are 32 lowercase hex characters, sortable by creation time."""

from __future__ import annotations

import os
import re
import time

from shipyard.core.errors import InvalidInput

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def new_run_id() -> str:
    """A time-prefixed random id: 12 hex digits of milliseconds, then 20 random hex digits."""
    millis = int(time.time() * 1000)
    return f"{millis:012x}{os.urandom(10).hex()}"


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InvalidInput(
            f"A run id is 32 lowercase hexadecimal characters; got {run_id!r}. "
            "List runs with `shipyard runs list` to find the id."
        )
    return run_id
