"""The Shipyard side of the drift benchmark, in a fresh interpreter (``bench/drift.py`` runs this file).

    .venv/bin/python bench/_drift_shipyard.py --data DIR --size N [--window]

Reads the reference and current tables (pyarrow, timed apart as ``load``), does one untimed pass on
2,000 rows (first-call costs), then times:

- ``build_compute``: ``compute_drift(Reference.build(reference_table), current_table)``, both tables in,
  per-column drift out: the same work as Evidently's two-table report, and the figure the headline ratio
  against Evidently is taken on;
- ``build``: ``Reference.build(reference_table)`` alone, the one-off at training time whose result is
  stored with the dataset version;
- ``compute``: ``compute_drift(reference, current_table)`` alone, with its default methods: the current
  table against the reference summary built before (the production path, not the same work as Evidently's);
- with ``--window`` (the largest size): the stored-reference path on the 10,000-row window,
  ``Reference.from_bytes(stored)`` + ``compute_drift(reference, window)``, and each half alone; one
  sample is the median of 20 calls.

It writes the reference's bytes (``reference-N.shipyard``) and its grids and category lists
(``grids-N.npz``, which the histogram floor counts on) next to the tables. Benchmarks this checkout's
``src/``. Prints JSON lines (see ``_drift_measure``); the last one holds each column's statistic.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import _drift_data as data
import _drift_measure as m

REPO = Path(__file__).resolve().parent.parent
WARMUP_ROWS = 2_000
WINDOW_CALLS = 20


def number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def column_verdicts(report: Any) -> dict[str, Any]:
    drifted = set(report.drifted)
    columns = {}
    for name, column in report.columns.items():
        status = getattr(column, "status", None)
        columns[name] = {
            "method": str(getattr(column, "method", "")),
            "value": number(getattr(column, "value", None)),
            "p_value": number(getattr(column, "p_value", None)),
            "status": str(getattr(status, "value", status)),
            "drifted": name in drifted,
        }
    return {"columns": columns, "drifted": sorted(drifted)}


def reference_shape(reference: Any) -> dict[str, Any]:
    """What the stored reference holds per column (grid sizes, category counts), for the output."""
    shape: dict[str, Any] = {}
    for name, column in reference.columns.items():
        grid = getattr(column, "grid", None)
        if grid is not None:
            shape[name] = {"kind": type(column).__name__, "edges": len(grid)}
        else:
            shape[name] = {"kind": type(column).__name__, "values": len(getattr(column, "values", []))}
    return shape


def write_grids(reference: Any, path: Path) -> None:
    arrays = {}
    for name, column in reference.columns.items():
        grid = getattr(column, "grid", None)
        if grid is not None:
            arrays[f"grid:{name}"] = np.asarray(grid, dtype=np.float64)
        else:
            arrays[f"values:{name}"] = np.asarray([str(v) for v in column.values])
    np.savez(path, **arrays)


def build_and_compute(reference_table: Any, current: Any) -> Any:
    """Both tables in, per-column drift out: the same work as Evidently's two-table report."""
    from shipyard.monitoring.reference import Reference
    from shipyard.monitoring.statistics import compute_drift

    return compute_drift(Reference.build(reference_table), current)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--window", action="store_true", help="also time the 10,000-row window path")
    args = parser.parse_args()
    memory = m.Memory()
    sys.path.insert(0, str(REPO / "src"))  # benchmark this checkout, installed or not

    t0 = time.perf_counter()
    import pyarrow.parquet as pq

    import shipyard
    from shipyard.monitoring.reference import Reference
    from shipyard.monitoring.statistics import compute_drift

    m.emit(event="start", side="shipyard", size=args.size, import_s=time.perf_counter() - t0)
    files = data.paths(Path(args.data), args.size)
    t0 = time.perf_counter()
    reference_table = pq.read_table(files["reference"])
    current = pq.read_table(files["current"])
    m.emit(event="load", seconds=time.perf_counter() - t0, rss=m.rss(), table_bytes=current.nbytes)

    small = Reference.build(reference_table.slice(0, WARMUP_ROWS))
    compute_drift(small, current.slice(0, WARMUP_ROWS))
    m.emit(event="warmup")

    both = functools.partial(build_and_compute, reference_table, current)
    _, same_work = m.measure("build_compute", both, args.repeat, memory)
    del both
    m.measure("build", functools.partial(Reference.build, reference_table), args.repeat, memory)
    reference = Reference.build(reference_table)
    stored = reference.to_bytes()
    files["stored_reference"].write_bytes(stored)
    write_grids(reference, files["grids"])
    del reference_table  # production never holds the reference table: only the stored reference

    _, report = m.measure("compute", functools.partial(compute_drift, reference, current), args.repeat, memory)
    result: dict[str, Any] = column_verdicts(report)
    if column_verdicts(same_work) != result:  # one reference built from the same table: the same statistics
        raise SystemExit("build + compute and compute on the built reference disagree")
    del same_work
    del current

    if args.window:
        window = pq.read_table(files["window"])
        compute_drift(Reference.from_bytes(stored), window)

        def stored_path() -> Any:
            return compute_drift(Reference.from_bytes(stored), window)

        _, window_report = m.measure("window", stored_path, args.repeat, memory, calls=WINDOW_CALLS)
        m.measure("window_from_bytes", lambda: Reference.from_bytes(stored), args.repeat, memory, calls=WINDOW_CALLS)
        m.measure("window_compute", lambda: compute_drift(reference, window), args.repeat, memory, calls=WINDOW_CALLS)
        result["window"] = column_verdicts(window_report)

    m.emit(
        event="result",
        versions={"shipyard": getattr(shipyard, "__version__", "?")},
        stored_reference_bytes=len(stored),
        reference_shape=reference_shape(reference),
        peak_rss=memory.peak(),
        **result,
    )


if __name__ == "__main__":
    main()
