"""The demo's folder: made (or emptied of a previous demo) and given a ``shipyard.toml`` and a ``pipelines.py``.

A folder ``shipyard demo`` wrote holds a ``.shipyard-demo`` marker; running the demo there again deletes what
the last run left (the store, the reports, the two files) and starts afresh. A folder that is not empty and
holds no marker is someone's work: it is refused.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shipyard.core.config import CONFIG_FILE, HOME_DIR
from shipyard.core.errors import InvalidInput

MARKER = ".shipyard-demo"
PIPELINES = "pipelines.py"
REPORTS = "reports"
WRITTEN = (HOME_DIR, CONFIG_FILE, PIPELINES, REPORTS, "__pycache__", MARKER)
"""Everything a demo run writes into its folder, and so what a new run deletes first."""

CONFIG = """\
# Written by `shipyard demo`: the release gate and the monitor of the churn model. Change a value and try it:
#   shipyard gate run churn@2        shipyard gate policy apply --reason "…"        shipyard monitor run
[gate]
protected_aliases = ["champion"]
data = "training.holdout"         # the evaluation data of every binding verdict: the pipeline's newest holdout
primary_metric = "roc_auc"
label = "churned"

[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.75

[[gate.checks]]
kind = "no_regression"            # against the champion: paired bootstrap on the same eval rows
metric = "roc_auc"
max_drop = 0.01

[[monitor]]
name = "churn-drift"
model = "churn@champion"
window_rows = {window_rows}              # each window: the next {window_rows} logged rows
min_rows = {min_rows}

[[monitor.rules]]
kind = "feature_drift"            # each of the 24 inputs against the champion's training data
p_value = 0.01
threshold = 0.2
min_features = 3                  # at least 3 inputs drifted ...
for_windows = 2                   # ... in 2 windows in a row

[[monitor.rules]]
kind = "live_metric"              # on the requests whose ground truth came back (POST /feedback)
metric = "accuracy"               # the prediction log holds labels, not scores: roc_auc cannot be computed live
min = 0.70
min_labels = {min_labels}
for_windows = 2

[monitor.on_alert]
retrain = "pipelines.py:training"  # relative to this folder: run `shipyard monitor run` here
gate_data = "training.holdout"     # the pipeline's holdout: the newest quarter of the data it trained on
canary = {{ share = {share}, min_requests = {min_requests}, max_drop = 0.02 }}
"""


@dataclass(frozen=True)
class Scale:
    """Sizes that follow ``--rows`` (the labelled history), so a small demo stays a faithful one."""

    rows: int
    request_rows: int = 50

    @property
    def window_rows(self) -> int:
        return self.rows // 4

    @property
    def window_requests(self) -> int:
        return max(1, self.window_rows // self.request_rows)

    @property
    def canary_requests(self) -> int:
        return max(2, self.window_requests // 4)


CANARY_SHARE = 0.3


def prepare(folder: Path) -> Path:
    """Make ``folder`` ready for a fresh demo; ``InvalidInput`` (exit 2) for a non-empty folder of other work."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"--dir {folder} is a file; give a folder for the demo (new, empty, or an earlier demo's).")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise InvalidInput(
                f"--dir {folder} is not empty and was not made by `shipyard demo`, so the demo will not write "
                "there. Give a new or empty folder, e.g. --dir ./shipyard-demo."
            )
        for name in WRITTEN:
            path = folder / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "Made by `shipyard demo`. Running it here again deletes what it wrote and starts afresh.\n", encoding="utf-8"
    )
    return folder


def write_project(folder: Path, scale: Scale) -> None:
    """The project's ``shipyard.toml`` (gate policy and monitor) and ``pipelines.py`` (from the template)."""
    config = CONFIG.format(
        window_rows=scale.window_rows,
        min_rows=scale.window_rows // 2,
        min_labels=scale.window_rows // 4,
        share=CANARY_SHARE,
        min_requests=scale.canary_requests,
    )
    (folder / CONFIG_FILE).write_text(config, encoding="utf-8")
    template = resources.files("shipyard.demo").joinpath("pipelines_template.py").read_text(encoding="utf-8")
    header = "# Written by `shipyard demo` from shipyard/demo/pipelines_template.py; edit it freely.\n"
    (folder / PIPELINES).write_text(header + template, encoding="utf-8")
