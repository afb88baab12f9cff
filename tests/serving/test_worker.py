"""A server process holds the server and the model, not the command line or the model's loader."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import shipyard
from shipyard.serving.worker import OPTIONS_VARIABLE, options_value

from .conftest import options

# What a served scikit-learn model does not need: skops' trust tables (they import every estimator and, through
# scikit-learn's test utilities, pytest and pygments), the CLI, and Parquet's writer until the prediction log
# writes its first segment. pandas and rich are not listed: scikit-learn imports both itself, so the bare
# predict floor of bench/serving.py holds them too.
ABSENT = (
    "skops.io",
    "sklearn.utils._testing",
    "pytest",
    "_pytest",
    "pygments",
    "typer",
    "shipyard.cli",
    "pyarrow.parquet",
)
CHECK = """
import sys
from shipyard.serving.worker import app_from_environment
app = app_from_environment()
assert app.state.deployment.champion.served.fast_path
print(" ".join(name for name in sys.argv[1:] if name in sys.modules))
"""


def test_the_server_process_imports_no_loader_test_tools_or_cli(client: shipyard.Client, models: object) -> None:
    served = dataclasses.asdict(options(load_in_child_process=True, log_predictions=True))
    settings = {"uri": client.settings.uri, "artifacts": client.settings.artifacts, "cwd": str(client.settings.root)}
    env = {**os.environ, OPTIONS_VARIABLE: options_value(served, settings)}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *ABSENT], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_options_reach_the_server_process_as_given() -> None:
    served = dataclasses.asdict(options(load_in_child_process=True))
    assert json.loads(options_value(served, {"uri": "x"}))["options"] == served
