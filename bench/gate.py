"""The release gate end to end: a 12-check policy on a 100,000-row eval set, one scikit-learn model.

    .venv/bin/python bench/gate.py [--repeat N]

The policy includes a 1,000-resample paired bootstrap against a champion (``no_regression``) and slices
over three columns. One measurement is ``Gate(client).evaluate("churn@2", data="churn-eval")``: load both
models from the registry, predict, run every check, render and store the report and the verdict.
Target: under 10 s. The bootstrap alone is measured against its floor in ``bench/gate_bootstrap.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROWS = 100_000
POLICY = """
[gate]
label = "churned"
[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.7
[[gate.checks]]
kind = "min_metric"
metric = "f1"
threshold = 0.3
[[gate.checks]]
kind = "max_metric"
metric = "log_loss"
threshold = 0.7
[[gate.checks]]
kind = "no_regression"
metric = "roc_auc"
max_drop = 0.01
resamples = 1000
[[gate.checks]]
kind = "mcnemar"
[[gate.checks]]
kind = "slice_metric"
by = ["region", "plan", "channel"]
metric = "recall"
min = 0.2
min_rows = 200
[[gate.checks]]
kind = "schema"
[[gate.checks]]
kind = "completeness"
[[gate.checks]]
kind = "no_nan_inf"
[[gate.checks]]
kind = "min_rows"
min = 10000
[[gate.checks]]
kind = "class_balance"
[[gate.checks]]
kind = "safe_format"
"""


def frame(rows: int, seed: int) -> Any:  # a pandas DataFrame
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(10)})
    df["region"] = rng.choice(["eu", "us", "apac"], rows)
    df["plan"] = rng.choice(["basic", "pro"], rows)
    df["channel"] = rng.choice(["web", "store", "phone"], rows)
    odds = -0.5 + df.x0 - 0.7 * df.x1 + 0.4 * df.x2
    df["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one measurement")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1

    from sklearn.linear_model import LogisticRegression

    import shipyard as sy
    from shipyard.gates import Gate

    features = [f"x{i}" for i in range(10)]
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-gate-") as tmp:
        root = Path(tmp)
        (root / "shipyard.toml").write_text(POLICY)
        client = sy.Client(str(root / ".shipyard"), cwd=root)
        train_df, eval_df = frame(50_000, 1), frame(ROWS, 2)
        train = client.datasets.register("churn-train", train_df)
        client.datasets.register("churn-eval", eval_df)
        for c in (1.0, 0.01):
            with client.start_run() as run:
                model = LogisticRegression(C=c, max_iter=500).fit(train_df[features], train_df["churned"])
                run.log_model(model, "churn", train_data=train)
        gate = Gate(client)
        assert gate.evaluate("churn@1", data="churn-eval").passed, "the first model should pass to become champion"
        client.models.promote("churn@1")
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            verdict = gate.evaluate("churn@2", data="churn-eval")
            samples.append(time.perf_counter() - started)
        client.close()
    median = statistics.median(samples)
    print(
        f"gate, {len(verdict.checks)} checks, {ROWS:,} eval rows: median {median:.2f} s over {args.repeat} runs "
        f"(target < 10 s: {'met' if median < 10 else 'MISSED'}); verdict {'passed' if verdict.passed else 'failed'}"
    )
    for check in sorted(verdict.checks, key=lambda c: -c.duration_ms):
        print(f"  {check.name:<42} {check.duration_ms:9.1f} ms  {check.status.value}", file=sys.stdout)
    write_report(args, samples, verdict)


def write_report(args: argparse.Namespace, samples: list[float], verdict: Any) -> None:
    from _headlines import headline

    median = statistics.median(samples)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    out = results / f"gate-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    report = {
        "quick": args.quick,
        "repeat": args.repeat,
        "platform": platform.platform(),
        "samples_s": samples,
        "checks_ms": {c.name: c.duration_ms for c in verdict.checks},
        "headlines": [
            headline(
                f"release gate, {len(verdict.checks)} checks on {ROWS:,} eval rows",
                ours=median,
                unit="s",
                same_work="load both models, predict, run every check (1,000-resample paired bootstrap included), "
                "store the verdict and its HTML report",
                differs="no peer runs a release gate; the target is absolute",
                target="< 10 s",
                met=median < 10,
            )
        ],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out}")


if __name__ == "__main__":
    main()
