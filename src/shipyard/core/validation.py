"""Limits on names and values, checked once before anything is written.

| what | limit |
| --- | --- |
| metric, param and tag keys | 1–250 characters of letters, digits, ``_ - . / : space``; no ``..`` segment |
| param values | 6,000 characters |
| tag values | 8,000 characters |
| run and project names | 1–250 characters, no control characters |
| metric values | any ``int`` or ``float`` that fits a float (NaN and ±inf are kept); not ``bool`` or strings |
| steps | integers in ``[-2**63, 2**63)`` (a default step too: none follows ``2**63 - 1``) |
| timestamps | milliseconds since the epoch, integers in ``[-2**63, 2**63)`` |

A metric point that passes these checks is one the store can hold: ``metric_point_problem`` says why
one cannot, for the store's own message and for a flush that must set a refused point aside.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any

from shipyard.core.errors import InvalidInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250
_KEY = re.compile(r"^[\w\-. /:]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INT64 = 2**63


def check_key(key: object, what: str = "metric") -> str:
    if not isinstance(key, str):
        raise InvalidInput(f"A {what} key must be a string; got {type(key).__name__} {key!r}.")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"A {what} key must be 1 to {MAX_KEY_LENGTH} characters long; got {len(key)} characters ({key[:40]!r}…)."
            if key
            else f"A {what} key must not be empty."
        )
    if not _KEY.match(key):
        bad = next((c for c in key if not _KEY.match(c)), "")
        raise InvalidInput(
            f"The {what} key {key!r} contains {bad!r}; keys may use letters, digits, "
            "underscores, dashes, periods, spaces, slashes and colons."
        )
    segments = key.split("/")
    if key.startswith("/") or any(s in (".", "..") for s in segments):
        raise InvalidInput(
            f"The {what} key {key!r} looks like a path that escapes (a leading '/' or a '.'/'..' segment); "
            "use a plain name such as 'train/loss'."
        )
    return key


def check_value(value: object, key: str, what: str, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInput(
            f"The {what} value for {key!r} is {len(text)} characters; the limit is {limit}. "
            "Log long text as an artifact instead."
        )
    return text


def check_param_value(value: object, key: str) -> str:
    return check_value(value, key, "param", MAX_PARAM_VALUE_LENGTH)


def check_tag_value(value: object, key: str) -> str:
    return check_value(value, key, "tag", MAX_TAG_VALUE_LENGTH)


def check_metric_value(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"The metric {key!r} must be a number (int or float; NaN and ±inf are allowed); "
            f"got {type(value).__name__} {_shown(value)}."
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidInput(
            f"The metric {key!r} is too large for a float (a 64-bit float holds up to about 1.8e308); got "
            f"{_shown(value)}. Log it scaled, or as a param."
        ) from None


def check_step(step: object, key: str) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not -_INT64 <= int(step) < _INT64:
        raise InvalidInput(
            f"The step for metric {key!r} must be a 64-bit integer (from -2**63 to 2**63 - 1); got {_shown(step)}."
        )
    return int(step)


def check_timestamp(timestamp: object, key: str) -> int:
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, numbers.Integral)
        or not -_INT64 <= int(timestamp) < _INT64
    ):
        raise InvalidInput(
            f"The timestamp for metric {key!r} must be milliseconds since the epoch, a 64-bit integer such as "
            f"int(time.time() * 1000); got {_shown(timestamp)}. Leave it out to use the time of the call."
        )
    return int(timestamp)


def no_next_step(key: str) -> InvalidInput:
    """The error for a default step past the last one a 64-bit integer holds."""
    return InvalidInput(
        f"The metric {key!r} already has a point at step {_INT64 - 1}, the largest 64-bit step, so there is no "
        "next step to default to; pass step= explicitly."
    )


def metric_point_problem(point: tuple[object, object, object, object]) -> str | None:
    """Why the store cannot hold the point ``(key, value, step, timestamp)``, or None if it can."""
    key, value, step, timestamp = point
    try:
        check_key(key, "metric")
        if value.__class__ is not float:
            check_metric_value(value, str(key))
        check_step(step, str(key))
        check_timestamp(timestamp, str(key))
    except InvalidInput as exc:
        return str(exc)
    return None


def _shown(value: object) -> str:
    """A value as a message shows it: short, and never the 4,300-digit repr Python refuses to make."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH or _CONTROL.search(name):
        raise InvalidInput(
            f"A {what} name must be a string of 1 to {MAX_NAME_LENGTH} characters without control "
            f"characters; got {name!r}."
        )
    return name


def check_mapping(value: object) -> Mapping[str, Any]:
    """``None`` as an empty mapping; anything that is not a mapping is ``InvalidInput``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"Expected a mapping of key to value; got {type(value).__name__}.")
    return value


def check_params(params: object) -> dict[str, str]:
    """Every key and value of a params mapping checked (all before any is written), values as strings."""
    return {check_key(k, "param"): check_param_value(x, k) for k, x in check_mapping(params).items()}


def check_tags(tags: object) -> dict[str, str]:
    """Every key and value of a tags mapping checked (all before any is written), values as strings."""
    return {check_key(k, "tag"): check_tag_value(x, k) for k, x in check_mapping(tags).items()}


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: float | str | None, what: str) -> float | None:
    """Seconds from ``30``, ``"30s"``, ``"10m"``, ``"1.5h"``, ``"1d"`` or ``"250ms"``; None stays None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput(f"{what} must be a positive duration such as 30, '30s', '10m' or '2h'; got {value!r}.")
    return float(match.group(1)) * _UNITS[match.group(2)]
