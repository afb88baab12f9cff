"""The release gate's paired bootstrap beside the floor: the same resampled AUCs in the most direct numpy.

    .venv/bin/python bench/gate_bootstrap.py [--repeat N] [--rows N] [--resamples N]

The data: ``--rows`` (default 100,000) rows, 30 % positive; two models' scores, normal with a lift of 1.0
and 1.2 for positives (all distinct). The figures, each the median of ``--repeat`` runs (sides alternate):

- ours: ``paired_bootstrap("roc_auc", y, a, b, resamples=1000)``: validation, the point estimate on the full
  data, the resamples (multinomial counts from seeded uniforms) in memory-bounded chunks, each chunk's AUC
  of both models via the metric kernel, the percentile interval.
- floor: the same 1,000 resampled AUC pairs (the same draws, so the intervals must agree, which is checked)
  with no API: sort each model once, then per chunk of the same size one bincount of the draws, a gather,
  a cumulative sum of negative weights and two dot products per model, and the two quantiles. No
  validation, no point estimate and no tie handling (the scores here are distinct). Drawing the resamples
  is part of both sides; it is also shown alone.

Below: ours on tied scores (rounded to 0.001, the general path), the peak memory of ours, and single
evaluations (``compute``) of accuracy, roc_auc and f1 beside scikit-learn's. Target: ours <= 3x the floor.
Writes ``bench/results/gate_bootstrap-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import _harness as h

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
TARGET = 3.0
SEED = 0
CONFIDENCE = 0.95


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_data(rows: int) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(11)
    y = (rng.random(rows) < 0.3).astype(np.int64)
    return y, rng.normal(size=rows) + 1.0 * y, rng.normal(size=rows) + 1.2 * y


def floor_paired_auc(y: Any, a: Any, b: Any, resamples: int, chunk_bytes: int) -> tuple[float, float]:
    """The percentile interval of AUC(b) − AUC(a) over the resamples, in the most direct numpy."""
    n = len(y)
    models = []
    for scores in (a, b):
        order = np.argsort(scores)
        pos = y[order].astype(np.float64)
        models.append((order, pos, 1.0 - pos))
    rows = max(1, chunk_bytes // (8 * n))
    rng = np.random.default_rng(SEED)
    auc = np.empty((2, resamples))
    for start in range(0, resamples, rows):
        chunk = min(rows, resamples - start)
        picks = (rng.random((chunk, n)) * n).astype(np.intp)
        picks += np.arange(0, chunk * n, n)[:, np.newaxis]
        w = np.bincount(picks.ravel(), minlength=chunk * n).reshape(chunk, n).astype(np.float64)
        for m, (order, pos, neg) in enumerate(models):
            ranked = np.take(w, order, axis=1)
            below = ranked * neg
            np.cumsum(below, axis=1, out=below)
            negatives = below[:, -1].copy()
            below *= ranked
            auc[m, start : start + chunk] = (below @ pos) / ((ranked @ pos) * negatives)
    alpha = 1 - CONFIDENCE
    low, high = np.quantile(auc[1] - auc[0], [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="Shipyard's paired bootstrap vs the numpy floor.")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per figure; the median is shown")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="1 measurement per figure (make bench-quick)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    if min(args.repeat, args.rows, args.resamples) < 1:
        parser.error("--repeat, --rows and --resamples must be at least 1")

    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not
    import sklearn
    import sklearn.metrics as skm

    from _headlines import headline
    from shipyard.gates import stats
    from shipyard.gates.metrics import compute

    started, wall0 = dt.datetime.now(dt.UTC), time.perf_counter()
    y, a, b = make_data(args.rows)
    a_tied, b_tied = np.round(a, 3), np.round(b, 3)
    resamples = args.resamples

    def ours() -> Any:
        return stats.paired_bootstrap("roc_auc", y, a, b, resamples=resamples, seed=SEED, confidence=CONFIDENCE)

    def floor() -> tuple[float, float]:
        return floor_paired_auc(y, a, b, resamples, stats.CHUNK_BYTES)

    def ours_tied() -> Any:
        return stats.paired_bootstrap("roc_auc", y, a_tied, b_tied, resamples=resamples, seed=SEED)

    def draws_only() -> None:
        for _ in stats.resample_weights(len(y), resamples, seed=SEED):
            pass

    result, (floor_low, floor_high) = ours(), floor()  # warm-up, and the check that both compute the same
    if abs(result.low - floor_low) > 1e-12 or abs(result.high - floor_high) > 1e-12:
        sys.exit(f"ours and the floor disagree: {result} vs ({floor_low}, {floor_high})")
    sides = {"ours": ours, "floor": floor, "ours_tied": ours_tied, "draws": draws_only}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(args.repeat):
        for name, side in sides.items():
            samples[name].append(timed(side))
        log(f"{i + 1}/{args.repeat}: " + ", ".join(f"{n} {h.format_seconds(s[-1])}" for n, s in samples.items()))
    medians = {name: statistics.median(s) for name, s in samples.items()}

    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    ours()
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    labels = (a > 0.7).astype(np.int64)
    singles = {
        "accuracy": (lambda: compute("accuracy", y, labels=labels), lambda: skm.accuracy_score(y, labels)),
        "roc_auc": (lambda: compute("roc_auc", y, scores=a), lambda: skm.roc_auc_score(y, a)),
        "f1": (lambda: compute("f1", y, labels=labels), lambda: skm.f1_score(y, labels)),
    }
    single_medians = {
        name: {
            side: statistics.median(timed(fn) for _ in range(max(args.repeat, 5)))
            for side, fn in zip(("ours", "sklearn"), fns, strict=True)
        }
        for name, fns in singles.items()
    }

    ratio = medians["ours"] / medians["floor"]
    print(
        f"Shipyard gate bootstrap benchmark, {started:%Y-%m-%d %H:%M} UTC, median of {args.repeat}; "
        f"{args.rows:,} rows, {resamples:,} resamples, roc_auc of two models; numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs\n"
    )
    table = [
        ('ours: paired_bootstrap("roc_auc", ...)', medians["ours"], f"{ratio:.2f}x"),
        ("floor: same resampled AUCs, direct numpy", medians["floor"], "1.00x"),
        ("ours, tied scores (general path)", medians["ours_tied"], f"{medians['ours_tied'] / medians['floor']:.2f}x"),
        (
            "drawing the resamples alone (both sides do)",
            medians["draws"],
            f"{medians['draws'] / medians['floor']:.2f}x",
        ),
    ]
    width = max(len(row[0]) for row in table)
    print(f"{'operation'.ljust(width)} | {'median':>9} | to floor")
    print(f"{'-' * width}-+-{'-' * 9}-+-{'-' * 9}")
    for label, seconds, shown in table:
        print(f"{label.ljust(width)} | {h.format_seconds(seconds):>9} | {shown:>8}")
    print(f"\ntarget ours <= {TARGET:g}x floor: {'met' if ratio <= TARGET else 'MISSED'} ({ratio:.2f}x)")
    print(f"interval {result.low:+.5f} .. {result.high:+.5f} (difference {result.difference:+.5f}); the floor's agrees")
    print(f"peak memory of ours (tracemalloc): {peak_mb:.0f} MB, chunks of {stats.CHUNK_BYTES / 2**20:.0f} MB")
    print(f"\nsingle evaluations at {args.rows:,} rows (median), ours vs scikit-learn {sklearn.__version__}:")
    for name, sides_s in single_medians.items():
        print(f"- {name}: {h.format_seconds(sides_s['ours'])} vs {h.format_seconds(sides_s['sklearn'])}")
    wall = time.perf_counter() - wall0
    print(f"- wall time of this benchmark: {wall:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"gate_bootstrap-{started:%Y%m%dT%H%M%SZ}.json"
    report = {
        "started": started.isoformat(),
        "args": vars(args),
        "versions": {"numpy": np.__version__, "sklearn": sklearn.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "samples_s": samples,
        "medians_s": medians,
        "ratio_to_floor": ratio,
        "target": f"ours <= {TARGET:g}x floor",
        "peak_memory_mb": peak_mb,
        "single_evaluations_s": single_medians,
        "wall_time_s": wall,
        "quick": args.quick,
        "headlines": [
            headline(
                f"paired bootstrap of roc_auc, {args.resamples:,} resamples of {args.rows:,} rows",
                ours=medians["ours"],
                unit="s",
                floor=medians["floor"],
                floor_name="direct numpy on the same resampled indices",
                same_work="the candidate-minus-champion roc_auc interval from the same resamples",
                differs="no peer: MLflow and Evidently have no paired bootstrap",
                target=f"<= {TARGET:g}x the floor's time",
                met=ratio <= TARGET,
            )
        ],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"- figures written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
