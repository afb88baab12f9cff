"""Loading a model in a short-lived child process and receiving it pickled (``load_model(separate_process=True)``).

Some loaders import far more than the model they return needs: skops builds its default trusted types from
every estimator scikit-learn has (and scikit-learn's test utilities pull in pytest and pygments), which a
server would then hold for its whole life. Here a child interpreter runs the flavor's own ``load`` (the same
files, trusted types and refusals as in this process), pickles the model and writes it to its stdout; this
process unpickles it, importing only the modules the model's classes live in.

The pickle is made by our own child from an object the flavor's safe loader already accepted, and travels
over a pipe nobody else holds: unpickling it runs nothing the package could choose. Warnings the load gave
in the child are given again here. If anything goes wrong on the way (the load fails, the model does not
pickle, the child dies) the caller loads in its own process instead, so every error is the one an
in-process load raises, with its own traceback.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_BOOTSTRAP = (
    "import json, sys; given = json.loads(sys.stdin.readline()); sys.path[:] = given['path']; "
    "from shipyard.models.flavors._child import main; main(given)"
)


def load_in_child(flavor: str, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> tuple[bool, Any]:
    """``(True, model)`` loaded by ``flavor`` in a child process, or ``(False, None)`` if that did not work."""
    if not sys.executable:  # an embedded interpreter: no way to start another
        return False, None
    given = {
        "path": sys.path,
        "flavor": flavor,
        "folder": str(Path(folder).absolute()),
        "meta": dict(meta),
        "trust_unsafe": trust_unsafe,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", _BOOTSTRAP],
            input=json.dumps(given).encode() + b"\n",
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a failure is repeated in this process, which reports it
            check=False,
        )
    except OSError:
        return False, None
    if done.returncode != 0:
        return False, None
    try:
        model, caught = pickle.loads(done.stdout)  # written by our child: see the module docstring
    except Exception:
        return False, None
    for category, message in caught:
        warnings.warn(message, category, stacklevel=4)
    return True, model


def main(given: Mapping[str, Any]) -> None:
    """The child: load, pickle to stdout; exit 1 on any failure (the parent then loads by itself)."""
    from shipyard.models.flavors import get_flavor

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the libraries print must not mix with the pickle
    try:
        with warnings.catch_warnings(record=True) as caught:
            model = get_flavor(given["flavor"]).load(
                Path(given["folder"]), given["meta"], trust_unsafe=bool(given["trust_unsafe"])
            )
        data = pickle.dumps((model, [(w.category, str(w.message)) for w in caught]), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        sys.exit(1)
    out.write(data)
    out.close()
