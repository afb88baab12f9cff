"""The peers' virtualenvs for ``bench/serving.py``: MLflow as pip gives it, MLflow on uvloop, BentoML.

Each peer runs in its own virtualenv, made here with ``python -m venv`` and pip on first use (a few
minutes each, once) and reused while its ``.installed-stamp`` is there and its imports still work:

- ``bench/.venv-mlflow`` (made by ``tracking.py``) when its MLflow can serve, else ``bench/.venv-mlflow-serve``:
  ``pip install mlflow``, which brings uvicorn without uvloop or httptools (asyncio + h11);
- ``bench/.venv-mlflow-uvloop``: the same MLflow version plus ``uvloop`` and ``httptools``, so ``mlflow
  models serve``'s uvicorn (``--loop auto --http auto``) runs the HTTP stack Shipyard's server runs;
- ``bench/.venv-bentoml``: ``pip install bentoml`` with the scikit-learn that pickled the model, plus
  ``uvloop`` and ``httptools``, which BentoML's uvicorn picks when present (``pip install bentoml`` brings
  neither): BentoML gets Shipyard's HTTP stack too, so the comparison is of the servers, not of asyncio.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MLFLOW_VENVS = (BENCH / ".venv-mlflow", BENCH / ".venv-mlflow-serve")
MLFLOW_UVLOOP_VENV = BENCH / ".venv-mlflow-uvloop"
BENTOML_VENV = BENCH / ".venv-bentoml"
MLFLOW_CHECK = "import mlflow, sklearn, uvicorn, fastapi, mlflow.pyfunc.scoring_server"
BENTOML_CHECK = "import bentoml, sklearn, numpy, pydantic, uvloop, httptools"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def usable(venv: Path, check: str) -> bool:
    python = venv / "bin" / "python"
    if not ((venv / ".installed-stamp").exists() and python.exists()):
        return False
    return subprocess.run([python, "-c", check], capture_output=True).returncode == 0


def make_venv(python: str, venv: Path, packages: list[str], check: str, version_of: str) -> Path:
    """``python -m venv`` + ``pip install PACKAGES``; the stamp records ``version_of``'s version."""
    log(f"Installing {' '.join(packages)} into {venv.name} (first run only; takes a few minutes) ...")
    bin_python = venv / "bin" / "python"
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([bin_python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([bin_python, "-m", "pip", "install", "--quiet", *packages], check=True)
    subprocess.run([bin_python, "-c", check], check=True)
    version = module_version(venv, version_of)
    (venv / ".installed-stamp").write_text(f"{version_of}=={version}\n")
    return venv


def module_version(venv: Path, module: str) -> str | None:
    probe = f"import {module}; print({module}.__version__)"
    got = subprocess.run([venv / "bin" / "python", "-c", probe], capture_output=True, text=True)
    return got.stdout.strip() if got.returncode == 0 else None


def mlflow_venv(python: str) -> Path:
    """A virtualenv whose MLflow, as ``pip install mlflow`` gives it, can ``models serve`` a scikit-learn model."""
    for venv in MLFLOW_VENVS:
        if usable(venv, MLFLOW_CHECK):
            return venv
    return make_venv(python, MLFLOW_VENVS[-1], ["mlflow"], MLFLOW_CHECK, "mlflow")


def mlflow_uvloop_venv(python: str, mlflow_version: str) -> Path:
    """The same MLflow with uvloop and httptools, which uvicorn then picks (Shipyard's HTTP stack)."""
    check = f"{MLFLOW_CHECK}, uvloop, httptools; assert mlflow.__version__ == {mlflow_version!r}"
    if usable(MLFLOW_UVLOOP_VENV, check):
        return MLFLOW_UVLOOP_VENV
    packages = [f"mlflow=={mlflow_version}", "uvloop", "httptools"]
    return make_venv(python, MLFLOW_UVLOOP_VENV, packages, check, "mlflow")


def bentoml_venv(python: str, sklearn_version: str) -> Path:
    """``pip install bentoml`` + uvloop + httptools, with the scikit-learn that pickled the model (the very object
    is served)."""
    check = f"{BENTOML_CHECK}; assert sklearn.__version__ == {sklearn_version!r}"
    if usable(BENTOML_VENV, check):
        return BENTOML_VENV
    packages = ["bentoml", "uvloop", "httptools", f"scikit-learn=={sklearn_version}"]
    return make_venv(python, BENTOML_VENV, packages, check, "bentoml")
