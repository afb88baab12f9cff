"""The library versions a package was saved with, and the warning when the loading process differs."""

from __future__ import annotations

import platform
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from shipyard.packaging.flavors.base import Flavor


class VersionMismatchWarning(UserWarning):
    """A model is loaded with a different release of a library than the one it was saved with."""


def _installed(module: str) -> str | None:
    if module == "python":
        return platform.python_version()
    # Ask the imported module, not package metadata: the distribution name can differ from the module's
    # (xgboost ships as xgboost or xgboost-cpu), and the flavor has imported the module already.
    loaded = sys.modules.get(module)
    version = getattr(loaded, "__version__", None)
    return None if version is None else str(version)


def record_environment(flavor: Flavor) -> dict[str, Any]:
    """``{"python": "3.11.7", "libraries": {"scikit-learn": "1.9.1", …}}`` for the flavor's libraries."""
    libraries = {}
    for label, (module, _) in flavor.libraries.items():
        if label != "python" and (version := _installed(module)) is not None:
            libraries[label] = version
    return {"python": platform.python_version(), "libraries": libraries}


def _leading(version: str, parts: int) -> tuple[str, ...]:
    return tuple(version.split("+")[0].split(".")[:parts])


def check_environment(flavor: Flavor, environment: Mapping[str, Any]) -> None:
    """Warn (``VersionMismatchWarning``) for each library whose recorded release differs from the loaded one.

    Each flavor says how many version components matter per library: the major version for libraries
    that keep their file formats stable across a major series, more where they do not.
    """
    recorded: dict[str, Any] = dict(environment.get("libraries") or {})
    recorded["python"] = environment.get("python")
    for label, (module, parts) in flavor.libraries.items():
        saved, now = recorded.get(label), _installed(module)
        if saved is None or now is None or _leading(str(saved), parts) == _leading(now, parts):
            continue
        warnings.warn(
            f"This {flavor.name} model was saved with {label} {saved} and is loaded with {label} {now}; "
            "predictions may differ or fail. Install the recorded version, or re-save the model with this one.",
            VersionMismatchWarning,
            stacklevel=3,
        )
