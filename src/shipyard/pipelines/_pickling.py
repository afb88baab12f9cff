"""Pickling a step task so that the code it ships keeps naming the user's file and lines.

cloudpickle ships the functions of a pipeline file by value (the loader registers the file for that).
From 3.1.3 on it names every code object it ships ``<dynamic-code>``, to make payloads deterministic, so a
failing step's traceback would lose the user's file and source lines, and ``shipyard pipeline show`` its
``file:line``. Here code objects travel whole through ``marshal``, which keeps ``co_filename`` and the line
table as they were, whatever cloudpickle version is installed; everything else is cloudpickle's. The
coordinator and its workers run the same Python version (as cloudpickle, which ships bytecode, needs
anyway), so marshal's format is shared. A task payload is never hashed (cache keys come from source), so
marshal's byte-level nondeterminism does not matter here.
"""

from __future__ import annotations

import io
import marshal
import types
from typing import Any

import cloudpickle


class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]  # cloudpickle has no type information
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is types.CodeType:
            return _code, (marshal.dumps(obj),)
        return super().reducer_override(obj)


def dumps(obj: Any) -> bytes:
    """``cloudpickle.dumps``, except that shipped code keeps its file name; read back with ``cloudpickle.loads``."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(obj)
    return buffer.getvalue()


def _code(data: bytes) -> types.CodeType:
    code = marshal.loads(data)
    if not isinstance(code, types.CodeType):  # only ever written by ``_Pickler`` above
        raise TypeError(f"expected marshalled code, got {type(code).__name__}")
    return code


__all__ = ["dumps"]
