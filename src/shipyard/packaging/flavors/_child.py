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
    "from shipyard.packaging.flavors._child import main; main(given)"
)


class ChildLoad:
    """A load started in a child process: ``result()`` is ``(True, model)``, or ``(False, None)`` if it did not work.

    It starts at once, so the caller can import the libraries the model needs meanwhile; ``cancel()`` ends it.
    """

    def __init__(self, flavor: str, folder: Path, meta: Mapping[str, Any], *, trust_unsafe: bool) -> None:
        given = {
            "path": sys.path,
            "flavor": flavor,
            "folder": str(Path(folder).absolute()),
            "meta": dict(meta),
            "trust_unsafe": trust_unsafe,
        }
        self._process: subprocess.Popen[bytes] | None = None
        if not sys.executable:  # an embedded interpreter: no way to start another
            return
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # a failure is repeated in this process, which reports it
            )
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(given).encode() + b"\n")
            self._process.stdin.close()
        except OSError:
            self.cancel()

    def result(self) -> tuple[bool, Any]:
        if self._process is None:
            return False, None
        assert self._process.stdout is not None
        with self._process.stdout:
            output = self._process.stdout.read()
        if self._process.wait() != 0:
            return False, None
        try:
            model, caught = pickle.loads(output)  # written by our child: see the module docstring
        except Exception:
            return False, None
        for category, message in caught:
            warnings.warn(message, category, stacklevel=4)
        return True, model

    def cancel(self) -> None:
        if self._process is not None:
            self._process.kill()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process.wait()
        self._process = None


def main(given: Mapping[str, Any]) -> None:
    """The child: load, pickle to stdout; exit 1 on any failure (the parent then loads by itself)."""
    from shipyard.packaging.flavors import get_flavor

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
