"""The floors of the drift benchmark, each in a fresh interpreter (``bench/drift.py`` runs this file).

    .venv/bin/python bench/_drift_floor.py --data DIR --size N --mode histogram|scipy

``histogram``: what no drift computation against a stored reference can avoid, in one vectorised pass
over the current table: each numeric column (nulls dropped) histogrammed on Shipyard's reference grid
(``np.sort``, then the grid's edges placed with ``np.searchsorted``), each string column counted with
pyarrow's ``value_counts`` and matched to the reference's values, plus the null counts; then PSI per column
from those counts (a few microseconds). The grids come from the Shipyard side (``grids-N.npz``); the
reference's own counts on them are computed before the timer starts (they are what a stored reference
holds). Without Shipyard's grids (Shipyard unavailable), the floor makes its own: the reference's
20-quantile edges, and says so.

``scipy``: the naive way, on the raw data of both tables every time, as in the issue: for each numeric
column ``scipy.stats.ks_2samp`` on the two value arrays and PSI on 10 bins at the reference's deciles
(``np.quantile`` + ``np.histogram`` of both); for each string column ``value_counts`` of both tables,
``scipy.stats.chi2_contingency`` and PSI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import _drift_data as data
import _drift_measure as m

OWN_GRID_BINS = 20
PSI_EPSILON = 1e-4  # a bin's share is at least this much, so an empty bin does not make PSI infinite
PSI_DRIFT = 0.2  # the usual rule of thumb: PSI above 0.2 is a significant shift
P_VALUE_DRIFT = 0.05


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected / max(expected.sum(), 1), PSI_EPSILON)
    a = np.maximum(actual / max(actual.sum(), 1), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def values(column: Any) -> np.ndarray:
    """A numeric column's non-null values as a numpy array (zero-copy when it has no nulls)."""
    import pyarrow.compute as pc

    if column.null_count:
        column = pc.drop_null(column)
    return column.to_numpy()


def histogram(column: Any, grid: np.ndarray) -> np.ndarray:
    """Counts below the first edge, in each interval [edge_i, edge_i+1), and at or above the last edge.

    Chunk by chunk, as Arrow holds the column (no concatenation; each chunk's numpy view is zero-copy):
    the chunk sorted (numpy's vectorised sort), then the edges placed among its values, several times
    faster than placing each value among the ~1,000 edges (``np.bincount(np.searchsorted(grid, x))``).
    """
    counts = np.zeros(len(grid) + 1, dtype=np.int64)
    for chunk in column.chunks:
        if chunk.null_count:
            chunk = chunk.drop_null()
        ordered = np.sort(chunk.to_numpy())
        counts += np.diff(np.searchsorted(ordered, grid, side="left"), prepend=0, append=len(ordered))
    return counts


def counts_of(column: Any) -> dict[Any, int]:
    counts = column.value_counts()
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def category_counts(column: Any, domain: list[str]) -> np.ndarray:
    """Counts of each reference value, then one more: every value the reference never saw."""
    found = counts_of(column)
    known = [found.pop(value, 0) for value in domain]
    found.pop(None, None)
    return np.array([*known, sum(found.values())], dtype=np.int64)


def load_grids(files: dict[str, Path], reference: Any) -> tuple[dict[str, np.ndarray], dict[str, list[str]], str]:
    if files["grids"].exists():
        stored = np.load(files["grids"], allow_pickle=False)
        grids = {name: stored[f"grid:{name}"] for name in data.NUMERIC}
        domains = {name: [str(v) for v in stored[f"values:{name}"]] for name in data.CATEGORICAL}
        return grids, domains, "Shipyard's reference grids"
    quantiles = np.linspace(0, 1, OWN_GRID_BINS + 1)[1:-1]
    grids = {name: np.unique(np.quantile(values(reference[name]), quantiles)) for name in data.NUMERIC}
    domains = {name: sorted(counts_of(reference[name]).keys() - {None}) for name in data.CATEGORICAL}
    return grids, domains, f"its own grids ({OWN_GRID_BINS}-quantile edges of the reference): no Shipyard grids"


def histogram_floor(files: dict[str, Path], repeat: int, memory: m.Memory) -> None:
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    reference = pq.read_table(files["reference"])
    current = pq.read_table(files["current"])
    m.emit(event="load", seconds=time.perf_counter() - t0, rss=m.rss())
    grids, domains, source = load_grids(files, reference)
    stored = {name: histogram(reference[name], grids[name]) for name in data.NUMERIC}
    stored |= {name: category_counts(reference[name], domains[name]) for name in data.CATEGORICAL}
    del reference

    def compute(table: Any) -> dict[str, float]:
        out = {}
        for name in data.NUMERIC:
            out[name] = psi(stored[name], histogram(table[name], grids[name]))
            table[name].null_count  # noqa: B018 - the missing share: free in Arrow, as it is for Shipyard
        for name in data.CATEGORICAL:
            out[name] = psi(stored[name], category_counts(table[name], domains[name]))
        return out

    compute(current.slice(0, 2_000))  # warm-up
    _, scores = m.measure("compute", lambda: compute(current), repeat, memory)
    window = pq.read_table(files["window"])
    compute(window)
    m.measure("window", lambda: compute(window), repeat, memory, calls=20)
    m.emit(
        event="result",
        grids=source,
        bins={name: len(grid) + 1 for name, grid in grids.items()},
        peak_rss=memory.peak(),
        columns={
            name: {"method": "psi", "value": value, "drifted": value > PSI_DRIFT} for name, value in scores.items()
        },
    )


def scipy_floor(files: dict[str, Path], repeat: int, memory: m.Memory) -> None:
    import pyarrow.parquet as pq
    import scipy
    from scipy.stats import chi2_contingency, ks_2samp

    t0 = time.perf_counter()
    reference = pq.read_table(files["reference"])
    current = pq.read_table(files["current"])
    m.emit(event="load", seconds=time.perf_counter() - t0, rss=m.rss())
    deciles = np.linspace(0, 1, 11)

    def compute() -> dict[str, dict[str, float]]:
        out = {}
        for name in data.NUMERIC:
            ref, cur = values(reference[name]), values(current[name])
            edges = np.unique(np.quantile(ref, deciles))
            edges[0], edges[-1] = -np.inf, np.inf
            p_value = ks_2samp(ref, cur).pvalue
            out[name] = {"ks_p": float(p_value), "psi": psi(np.histogram(ref, edges)[0], np.histogram(cur, edges)[0])}
        for name in data.CATEGORICAL:
            ref_map, cur_map = counts_of(reference[name]), counts_of(current[name])
            domain = sorted(set(ref_map) | set(cur_map), key=str)
            table = np.array([[ref_map.get(v, 0) for v in domain], [cur_map.get(v, 0) for v in domain]])
            p_value = chi2_contingency(table).pvalue
            out[name] = {"chi2_p": float(p_value), "psi": psi(table[0], table[1])}
        return out

    _, scores = m.measure("compute", compute, repeat, memory)
    columns = {}
    for name, score in scores.items():
        p_value = score.get("ks_p", score.get("chi2_p"))
        method = "ks" if "ks_p" in score else "chi2"
        columns[name] = {"method": method, "value": p_value, "psi": score["psi"], "drifted": p_value < P_VALUE_DRIFT}
    m.emit(event="result", versions={"scipy": scipy.__version__}, peak_rss=memory.peak(), columns=columns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--mode", choices=("histogram", "scipy"), required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    memory = m.Memory()
    m.emit(event="start", side=f"floor-{args.mode}", size=args.size)
    files = data.paths(Path(args.data), args.size)
    (histogram_floor if args.mode == "histogram" else scipy_floor)(files, args.repeat, memory)


if __name__ == "__main__":
    main()
