"""What a run ran on: git commit and dirty flag, Python, platform, versions of ML packages.

Captured once per process and working directory (it costs a few git calls), then reused by every run.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

ML_PACKAGES = (
    "shipyard",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "scikit-learn",
    "xgboost",
    "lightgbm",
    "catboost",
    "torch",
    "tensorflow",
    "jax",
    "onnx",
    "onnxruntime",
    "transformers",
    "statsmodels",
)


def capture(cwd: Path | None = None) -> dict[str, Any]:
    return _capture(str((cwd or Path.cwd()).resolve()))


@cache
def _capture(cwd: str) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "argv": list(sys.argv),
        "git": _git(cwd),
        "packages": _package_versions(),
    }


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in ML_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _git(cwd: str) -> dict[str, Any] | None:
    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if commit is None:
        return None
    status = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": bool(status),
        "branch": run("rev-parse", "--abbrev-ref", "HEAD"),
        "root": run("rev-parse", "--show-toplevel"),
    }
