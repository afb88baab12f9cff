"""Values on the wire: the protocol's types to JSON and back, the same way at both ends.

pydantic builds each converter from the annotation (dataclasses, named tuples, enums, tuples, mappings), so
an answer arrives as the very type the local backend returns. JSON is written by the standard library
with ``NaN`` and ``Infinity`` allowed: a metric may be either, and both ends are Python.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import json
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shipyard.core.entities import RunPage, RunRecord
from shipyard.core.errors import InvalidInput


def wire_type(annotation: Any) -> Any:
    """The annotation pydantic should convert with: an iterable becomes a list (pydantic would keep an
    iterable lazy), a ``RunPage`` its records plus the token."""
    if annotation is RunPage:
        return _Page
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is collections.abc.Iterable:
        return list[args[0]]  # type: ignore[valid-type]
    return annotation


@dataclasses.dataclass
class _Page:
    runs: list[RunRecord]
    next_page_token: str | None


@functools.cache
def adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(wire_type(annotation))


def to_wire(annotation: Any, value: Any) -> Any:
    """``value`` as JSON-ready builtins.

    A value that does not fit ``annotation`` (a tuple for a list, a string for a number) is sent as it is,
    without pydantic's warning: the server checks every argument and answers a wrong one with a 422 naming
    it, as the local backend would refuse it.
    """
    if annotation is RunPage:
        value = _Page(list(value), value.next_page_token)
    return adapter(annotation).dump_python(value, warnings=False)


def query_value(annotation: Any, value: Any) -> Any:
    """``value`` for a query string: a string given for an argument that takes none (``max_points="100"``)
    goes as JSON text (``"100"`` with its quotes), so the server refuses it as the local backend does
    rather than reading it as the number a query string cannot tell it from."""
    if isinstance(value, str) and not _takes_text(annotation):
        return json.dumps(value)
    return value


def _takes_text(annotation: Any) -> bool:
    if annotation is str or annotation is Any:
        return True
    return any(_takes_text(a) for a in typing.get_args(annotation) if a is not Ellipsis)


def from_wire(annotation: Any, value: Any, what: str) -> Any:
    """``value`` (parsed JSON) as ``annotation``; ``InvalidInput`` naming ``what`` when it does not fit."""
    try:
        converted = adapter(annotation).validate_python(value)
    except ValidationError as e:
        problem = e.errors()[0]
        where = ".".join(str(x) for x in problem["loc"])
        raise InvalidInput(f"{what}{'.' + where if where else ''}: {problem['msg']}.") from None
    if annotation is RunPage:
        return RunPage(list(converted.runs), converted.next_page_token)
    return converted


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_default, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    return json.loads(data)
