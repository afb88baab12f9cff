"""Can another process load this package? Code a saved model names, and why it may not be found there.

A skops file holds no code: it names each function and class (``sklearn.linear_model.LogisticRegression``,
``numpy.log1p``, a user's ``features.add_ratio``) and whoever loads it imports them by name. A lambda, a
function defined inside another function, or anything defined in ``__main__`` (a script, a notebook) has no
name another process can import, and a module that only this process can see (a folder it put on
``sys.path``) is not there for a server. ``save_model`` refuses such a package with ``UnloadableModel``,
judging from what the package names (no import needed), then from a fresh interpreter asked, without
importing them, whether it finds the user's own modules (stdlib and installed packages need no asking);
``load_model`` turns the import error of a package saved elsewhere into the same error, naming what is
missing.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shipyard.core.errors import InvalidInput

FRESH_PROCESS_TIMEOUT = 60.0
"""Seconds a fresh interpreter gets to find the user's modules (it imports their parent packages)."""

_FIX = (
    "Define it at the top level of an importable module (e.g. features.py beside your script, then "
    "`from features import …`), or save the model with flavor='python_function' (cloudpickle stores the "
    "code itself; the package is then marked unsafe_format)."
)


class UnloadableModel(InvalidInput):
    """A model package names code (a function, a class) that a process loading it cannot import."""


@dataclass(frozen=True)
class CodeReference:
    """A function or class a saved model names, imported by name by whoever loads the model."""

    module: str
    name: str
    where: str = ""
    """Where in the model it is used, e.g. ``FunctionTransformer.func``; empty when unknown."""

    def __str__(self) -> str:
        return f"{self.module}.{self.name}" + (f" (used as {self.where})" if self.where else "")


def unportable(references: Iterable[CodeReference]) -> list[tuple[CodeReference, str]]:
    """References no other process can import, whatever its path: each with the reason."""
    found = []
    for ref in references:
        if "<lambda>" in ref.name:
            found.append((ref, "a lambda has no name to import it by"))
        elif "<locals>" in ref.name:
            found.append((ref, "a function or class defined inside a function has no importable name"))
        elif ref.module == "__main__":
            found.append((ref, "it is defined in __main__ (a script or notebook), which is another program elsewhere"))
    return found


def unresolved(references: Iterable[CodeReference]) -> list[tuple[CodeReference, str]]:
    """References this process cannot import (module, then name): each with the reason."""
    found = []
    for ref in references:
        try:
            module = importlib.import_module(ref.module)
        except ImportError as exc:
            found.append((ref, f"its module cannot be imported here ({type(exc).__name__}: {exc})"))
            continue
        if not hasattr(module, ref.name):
            found.append((ref, f"module {ref.module!r} has no attribute {ref.name!r}"))
    return found


def not_found_elsewhere(references: Iterable[CodeReference]) -> list[tuple[CodeReference, str]]:
    """References to the user's own modules that a fresh interpreter, started here, does not find."""
    own = sorted({ref.module for ref in references if not _installed(ref.module)})
    missing = set(_fresh_process_misses(tuple(own))) if own else set()
    return [
        (
            ref,
            f"a fresh Python process started here does not find module {ref.module!r} (only this process can "
            "import it, e.g. from a folder it added to sys.path)",
        )
        for ref in references
        if ref.module in missing
    ]


def refuse(
    flavor: str, problems: Sequence[tuple[CodeReference, str]], *, loading: BaseException | None = None
) -> UnloadableModel:
    """The error for a package whose ``problems`` keep another process from loading it: at save, or (given the
    exception ``loading`` raised) at load, when ``problems`` may be empty if the names cannot tell."""
    listed = "; ".join(f"{ref}: {reason}" for ref, reason in problems)
    if loading is None:
        return UnloadableModel(
            f"This {flavor} model could be saved but not loaded by another process (a server, a batch job): "
            f"it names {listed}. {_FIX}"
        )
    detail = listed or f"{type(loading).__name__}: {loading}"
    return UnloadableModel(
        f"This {flavor} model package names code this process cannot import: {detail}. Run where that module "
        "can be imported (install its package, or put its folder on PYTHONPATH), or register the model again "
        "with that code at the top level of an importable module."
    )


def load_problems(references: Sequence[CodeReference]) -> list[tuple[CodeReference, str]]:
    """Why a load that raised ``ImportError``/``AttributeError`` failed, from the names the package holds."""
    static = unportable(references)
    return static + [problem for problem in unresolved(references) if problem[0] not in {r for r, _ in static}]


def _installed(module: str) -> bool:
    """Whether ``module`` is the standard library's or an installed package's: any process here finds it."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    if file is None:
        return False
    path = os.path.realpath(file)
    return any(path.startswith(root + os.sep) for root in _install_roots())


@functools.cache
def _install_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages())
    roots.add(site.getusersitepackages())
    return tuple(os.path.realpath(root) for root in roots)


_FIND = (
    "import importlib.util, json, sys\n"
    "found = {}\n"
    "for name in json.loads(sys.argv[1]):\n"
    "    try:\n"
    "        found[name] = importlib.util.find_spec(name) is not None\n"
    "    except Exception:\n"
    "        found[name] = False\n"
    "print(json.dumps(found))\n"
)
_found: set[tuple[str, str]] = set()


def _fresh_process_misses(modules: tuple[str, ...]) -> list[str]:
    """The modules a fresh interpreter (same executable, environment and working folder) cannot find.

    It finds specs without importing the modules themselves (their parent packages are imported). A module
    found is remembered per working folder, so a process pays for it once; one not found is asked about
    again next time (the user may have fixed PYTHONPATH since). If no interpreter can be started, nothing is
    judged missing: this check only adds to the others."""
    cwd = os.getcwd()
    unknown = [m for m in modules if (cwd, m) not in _found]
    if not unknown:
        return []
    try:
        done = subprocess.run(
            [sys.executable, "-c", _FIND, json.dumps(unknown)],
            capture_output=True,
            text=True,
            timeout=FRESH_PROCESS_TIMEOUT,
            check=True,
        )
        answers = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return []
    _found.update((cwd, m) for m in unknown if answers.get(m) is True)
    return [m for m in unknown if answers.get(m) is not True]
