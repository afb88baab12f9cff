"""The MLflow side of ``bench/guard.py``. Runs with ``bench/.venv-mlflow``'s python, never the project's.

    bench/.venv-mlflow/bin/python bench/_mlflow_guard.py --repeat 3 --moves 200

MLflow's registry has no release gate and no audit log; its nearest operation to a promotion is moving an
alias: ``MlflowClient().set_registered_model_alias(name, "champion", version)``. Every measurement gets a
fresh SQLite database (``sqlite:///<tmp>/mlflow.db``), copied from a template in which MLflow created its
schema, the registered model and its two versions once. Progress goes to stderr; stdout carries exactly
one JSON object: ``{"versions": {...}, "results": {"promote": [seconds per call, ...]}, "checks": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import _harness as h

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow  # after the environment above: MLflow reads it at import
from mlflow import MlflowClient

MODEL = "churn"
ALIAS = "champion"


def log(message: str) -> None:
    print(f"  mlflow: {message}", file=sys.stderr, flush=True)


def make_template(root: Path) -> Path:
    """Let MLflow create its schema (its Alembic migrations), the registered model and versions 1 and 2."""
    path = root / "template.db"
    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for number in (1, 2):
        # A version needs only a source location; the alias move never reads it.
        client.create_model_version(MODEL, source=str(root / "artifacts" / f"model-{number}"), run_id=None)
    return path


def promote(template: Path, tmp: Path, moves: int) -> tuple[list[float], str]:
    """``moves`` alias moves alternating between versions 2 and 1; (seconds of each call, champion after)."""
    db = tmp / "mlflow.db"
    with sqlite3.connect(template) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias(MODEL, ALIAS, "1")  # untimed: the store's first write pays its set-up
    samples = []
    for i in range(moves):
        version = str(2 - i % 2)
        t0 = time.perf_counter()
        client.set_registered_model_alias(MODEL, ALIAS, version)
        samples.append(time.perf_counter() - t0)
    return samples, client.get_model_version_by_alias(MODEL, ALIAS).version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    for name in ("alembic", "mlflow", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # whatever MLflow prints must not corrupt the JSON

    medians, means, champions = [], [], []
    with h.fresh_dir("mlflow-guard-") as root:
        template = make_template(root)
        with h.fresh_dir("mlflow-guard-") as tmp:
            promote(template, tmp, 20)  # warm-up, discarded
        for i in range(args.repeat):
            with h.fresh_dir("mlflow-guard-") as tmp:
                samples, champion = promote(template, tmp, args.moves)
            medians.append(statistics.median(samples))
            means.append(statistics.fmean(samples))
            champions.append(champion)
            log(f"promote {i + 1}/{args.repeat}: {h.format_seconds(medians[-1])} per call (median)")

    versions = {"mlflow": mlflow.__version__, "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    report = {
        "versions": versions,
        "results": {"promote": medians},
        "means": {"promote": means},
        "checks": {"champion_after": champions},
    }
    print(json.dumps(report), file=real_stdout)


if __name__ == "__main__":
    main()
