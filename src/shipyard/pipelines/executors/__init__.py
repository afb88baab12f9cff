"""Executors: where steps run. ``EXECUTORS`` maps a name to ``"module:Class"``, imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

from shipyard.core.errors import InvalidInput
from shipyard.pipelines.executors.base import Done, Executor

__all__ = ["EXECUTORS", "Done", "Executor", "open_executor"]

EXECUTORS: dict[str, str] = {
    "local": "shipyard.pipelines.executors.local:LocalExecutor",
    "ray": "shipyard.pipelines.executors.ray:RayExecutor",
}


def open_executor(name: str, **options: Any) -> Executor:
    """The executor called ``name``, started with ``options`` (``workers``, ``address``)."""
    target = EXECUTORS.get(name)
    if target is None:
        raise InvalidInput(f"Unknown executor {name!r}. Known executors: {', '.join(EXECUTORS)}.")
    module, _, attr = target.partition(":")
    executor = getattr(importlib.import_module(module), attr)(**options)
    assert isinstance(executor, Executor)
    return executor
