"""The step cache key: what must be unchanged for earlier outputs to stand in for running a step again.

It covers the step's source code and the source of the project-local functions and classes it reaches
(through its globals, one module attribute deep, transitively), the installed versions of its declared
dependencies, its literal parameters, and the digests of its inputs. "Project-local" means defined in a
file outside the interpreter's standard library and site-packages: editing a helper in ``features.py``
re-runs the steps that call it; upgrading pandas does not, unless a step declares it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import sys
import sysconfig
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInput
from shipyard.pipelines.definition import Step

# Bump when what a cached output means changes (the materialisers' formats).
CACHE_FORMAT = "shipyard-step/1"

_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_path("stdlib"), sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), sys.prefix}
    if p
)


def fingerprint(step: Step) -> str:
    """A digest of the step's code (with the project-local code it reaches) and its dependencies' versions."""
    cached: str | None = getattr(step, "_fingerprint", None)
    if cached is not None:
        return cached
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for name, source in sorted(_code_closure(step.fn).items()):
        digest.update(f"\0{name}\0{source}".encode())
    for package in sorted(step.dependencies):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            raise InvalidInput(
                f"Step {step.name!r} declares dependency {package!r}, which is not installed here; "
                "name it as pip knows it (e.g. 'scikit-learn')."
            ) from None
        digest.update(f"\0dep\0{package}=={version}".encode())
    result = "sha256:" + digest.hexdigest()
    step._fingerprint = result  # type: ignore[attr-defined]  # a step's code does not change under it
    return result


def cache_key(project: str, step_fingerprint: str, params: Mapping[str, Any], input_digests: Mapping[str, str]) -> str:
    """The key under which a step's outputs are cached (``sha256:…``)."""
    payload = json.dumps(
        {"project": project, "code": step_fingerprint, "params": params, "inputs": dict(input_digests)},
        sort_keys=True,
        allow_nan=True,
        default=repr,
    )
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def is_project_local(obj: Any) -> bool:
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    filename = getattr(module, "__file__", None) if module is not None else None
    if filename is None:
        # A function made in __main__ without a file (a notebook cell, python -c) is the user's own code.
        return getattr(obj, "__module__", None) == "__main__"
    resolved = str(Path(filename).resolve())
    return not resolved.startswith(_LIBRARY_ROOTS) and "site-packages" not in resolved


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return code.co_code.hex() if code is not None else repr(obj)


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _code_closure(fn: Any) -> dict[str, str]:
    """``module.qualname`` → source of ``fn`` and every project-local function or class it reaches."""
    found: dict[str, str] = {}
    pending = [fn]
    while pending:
        obj = pending.pop()
        obj = getattr(obj, "fn", obj)  # a Step called from another step: follow its function
        key = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        if key in found:
            continue
        found[key] = _source(obj)
        for referenced in _referenced(obj):
            if is_project_local(referenced):
                pending.append(referenced)
    return found


def _referenced(obj: Any) -> list[Any]:
    """Functions and classes that ``obj``'s code names, through its globals and one module attribute deep."""
    functions = [obj] if inspect.isfunction(obj) else [m for m in vars(obj).values() if inspect.isfunction(m)]
    result: list[Any] = []
    for function in functions:
        names = _code_names(function.__code__)
        scope = function.__globals__
        for name in names:
            value = scope.get(name)
            if isinstance(value, types.ModuleType):
                result.extend(getattr(value, attr) for attr in names if _is_code(getattr(value, attr, None)))
            elif _is_code(value) or isinstance(value, Step):
                result.append(value)
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if _is_code(contents):
                result.append(contents)
    return result


def _is_code(value: Any) -> bool:
    return inspect.isfunction(value) or inspect.isclass(value)
