"""Finding a pipeline from the command line: ``pipelines.py:training`` and ``--param lr=0.05``."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInput, NotFound
from shipyard.pipelines._pipeline import Pipeline


class PipelineImportError(InvalidInput):
    """A pipeline file that does not import; the message carries the import error."""


def split_target(target: str) -> tuple[Path, str | None]:
    path, sep, name = target.rpartition(":")
    if not sep or not path.endswith(".py"):
        path, name = target, ""
    return Path(path).expanduser().resolve(), name or None


def load_pipeline(target: str) -> Pipeline:
    """Import ``path.py`` and return its pipeline ``name`` (or its only pipeline when no name is given)."""
    path, name = split_target(target)
    if not path.is_file():
        raise NotFound(f"No pipeline file {str(path)!r}; give PATH.py:PIPELINE, e.g. pipelines.py:training.")
    module = _import_file(path)
    pipelines = {obj.name: obj for obj in vars(module).values() if isinstance(obj, Pipeline)}
    if name is None:
        if len(pipelines) != 1:
            found = ", ".join(sorted(pipelines)) or "none"
            raise InvalidInput(f"{path.name} defines {len(pipelines)} pipelines ({found}); name one: {path.name}:NAME.")
        (chosen,) = pipelines.values()
    else:
        attribute = getattr(module, name, None)
        chosen = attribute if isinstance(attribute, Pipeline) else pipelines.get(name)  # type: ignore[assignment]
        if chosen is None:
            found = ", ".join(sorted(pipelines)) or "none (decorate one with @sy.pipeline)"
            raise NotFound(f"{path.name} has no pipeline {name!r}. Pipelines there: {found}.")
    chosen.target = f"{path}:{chosen.fn.__name__}"
    return chosen


def _import_file(path: Path) -> Any:
    """Import a file as a module named after it, its folder first on ``sys.path`` (for its own imports)."""
    import cloudpickle

    module_name = path.stem if path.stem.isidentifier() else "shipyard_pipeline"
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) != str(path):
        # Another module has that name (``pipes`` is in the standard library): do not shadow it.
        module_name = f"_shipyard_{module_name}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PipelineImportError(f"Cannot import {path}: not a Python file.")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise PipelineImportError(f"The pipeline file {path} does not import: {detail}") from exc
    # Workers elsewhere (Ray) cannot import a file by path: its functions travel by value.
    cloudpickle.register_pickle_by_value(module)
    return module


def parse_params(pipeline: Pipeline, raw: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``--param`` strings into values of the types the pipeline's annotations (or defaults) give."""
    known = pipeline.signature.parameters
    values: dict[str, Any] = {}
    for key, text in raw.items():
        if key not in known:
            names = ", ".join(known) or "none"
            raise InvalidInput(f"Pipeline {pipeline.name!r} has no parameter {key!r}. Its parameters: {names}.")
        default = known[key].default
        wanted = pipeline.param_types.get(key)
        if wanted is None and default is not inspect.Parameter.empty and default is not None:
            wanted = type(default)
        values[key] = _convert(key, text, wanted)
    return values


def _convert(key: str, text: str, wanted: Any) -> Any:
    try:
        if wanted is bool:
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(text)
            return lowered in {"true", "1", "yes"}
        if wanted is int or wanted is float:
            return wanted(text)
        if wanted is str:
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if wanted is None:
                return text
            raise
    except ValueError:
        expected = getattr(wanted, "__name__", str(wanted))
        raise InvalidInput(f"--param {key}={text!r}: expected a {expected}.") from None


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["lr=0.05", "path=data.csv"]`` as a mapping; an item without ``=`` is an error."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param takes NAME=VALUE; got {item!r}.")
        result[key.strip()] = value
    return result
