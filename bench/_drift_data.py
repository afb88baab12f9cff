"""The drift benchmark's data: a seeded reference table and a current table in which some columns drift.

25 columns, 20 numeric and 5 strings, the same in every table:

- ``num_normal_0..5``, ``num_lognormal_0..3``, ``num_uniform_0..3``: float64 (two with 1 % NaN);
- ``count_0..5``: int64 counts (Poisson, negative binomial, geometric, uniform integers);
- ``cat_0..4``: strings with 5, 10, 20, 35 and 50 categories of skewed (Zipf-like) frequencies.

In the current table seven columns drift (``DRIFTED``: shifted means, a wider spread, a changed category
mix, a category never seen in the reference), one drifts only slightly (``SUBTLE``: a 0.03-standard-
deviation shift, which a test flags at these sizes while a distance does not), the other 17 keep their
distribution (fresh draws from the same law). The 10,000-row window is the first rows of the largest
current table. Smaller tables are prefixes of the largest (rows are independent draws), so every size is
the same data.

numpy and pyarrow only: imported by ``bench/drift.py`` (which writes the Parquet files) and by the sides'
helpers, including ``bench/_drift_evidently.py`` under Evidently's own virtualenv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WINDOW_ROWS = 10_000
SEED_REFERENCE, SEED_CURRENT = 20240601, 20240602

Draw = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "numeric" or "categorical"
    reference: Draw
    current: Draw
    expect: str  # "drift", "subtle" or "stable"
    description: str


def _with_nan(draw: Draw, share: float) -> Draw:
    def wrapped(rng: np.random.Generator, n: int) -> np.ndarray:
        values = draw(rng, n).astype(np.float64)
        values[rng.random(n) < share] = np.nan
        return values

    return wrapped


def _normal(mean: float, sd: float) -> Draw:
    return lambda rng, n: rng.normal(mean, sd, n)


def _lognormal(mean: float, sigma: float) -> Draw:
    return lambda rng, n: rng.lognormal(mean, sigma, n)


def _uniform(low: float, high: float) -> Draw:
    return lambda rng, n: rng.uniform(low, high, n)


def _poisson(lam: float) -> Draw:
    return lambda rng, n: rng.poisson(lam, n).astype(np.int64)


def _zipf_weights(k: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** exponent
    return weights / weights.sum()


def _categories(prefix: str, k: int, weights: np.ndarray, extra: tuple[str, float] | None = None) -> Draw:
    """Indices drawn with ``weights`` into ``prefix_00..``; ``extra`` = (a new value, its share) if any."""
    values = [f"{prefix}_{i:02d}" for i in range(k)]
    probabilities = weights
    if extra is not None:
        values.append(extra[0])
        probabilities = np.append(weights * (1 - extra[1]), extra[1])

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        indices = rng.choice(len(values), size=n, p=probabilities).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(values)).cast(pa.string())

    return draw


def _swap_top(weights: np.ndarray) -> np.ndarray:
    """The same weights with the two most frequent categories' shares exchanged with the 3rd and 4th."""
    changed = weights.copy()
    changed[[0, 1, 2, 3]] = changed[[2, 3, 0, 1]]
    return changed


def _flatten(weights: np.ndarray, by: float) -> np.ndarray:
    flat = weights**by
    return flat / flat.sum()


Z5, Z10, Z20, Z35, Z50 = (_zipf_weights(k, 1.1) for k in (5, 10, 20, 35, 50))

COLUMNS: list[Column] = [
    Column("num_normal_0", "numeric", _normal(0, 1), _normal(0.25, 1), "drift", "mean +0.25 sd"),
    Column("num_normal_1", "numeric", _normal(50, 10), _normal(50.3, 10), "subtle", "mean +0.03 sd"),
    Column("num_normal_2", "numeric", _with_nan(_normal(-3, 2), 0.01), _with_nan(_normal(-3, 2), 0.01), "stable", ""),
    Column("num_normal_3", "numeric", _normal(100, 15), _normal(100, 15), "stable", ""),
    Column("num_normal_4", "numeric", _normal(0, 1), _normal(0, 1.5), "drift", "sd x1.5, same mean"),
    Column("num_normal_5", "numeric", _normal(1e6, 1e5), _normal(1e6, 1e5), "stable", ""),
    Column("num_lognormal_0", "numeric", _lognormal(0, 0.5), _lognormal(0, 0.5), "stable", ""),
    Column(
        "num_lognormal_1", "numeric", _with_nan(_lognormal(1, 1), 0.01), _with_nan(_lognormal(1, 1), 0.01), "stable", ""
    ),
    Column("num_lognormal_2", "numeric", _lognormal(2, 0.3), _lognormal(2.2, 0.3), "drift", "log-mean +0.2"),
    Column("num_lognormal_3", "numeric", _lognormal(0, 1), _lognormal(0, 1), "stable", ""),
    Column("num_uniform_0", "numeric", _uniform(0, 1), _uniform(0, 1), "stable", ""),
    Column("num_uniform_1", "numeric", _uniform(0, 100), _uniform(10, 110), "drift", "range shifted by 10 %"),
    Column("num_uniform_2", "numeric", _uniform(-1, 1), _uniform(-1, 1), "stable", ""),
    Column("num_uniform_3", "numeric", _uniform(5, 6), _uniform(5, 6), "stable", ""),
    Column("count_0", "numeric", _poisson(3), _poisson(3.6), "drift", "Poisson mean 3 -> 3.6"),
    Column("count_1", "numeric", _poisson(20), _poisson(20), "stable", ""),
    Column(
        "count_2",
        "numeric",
        lambda rng, n: rng.negative_binomial(5, 0.3, n).astype(np.int64),
        lambda rng, n: rng.negative_binomial(5, 0.3, n).astype(np.int64),
        "stable",
        "",
    ),
    Column(
        "count_3",
        "numeric",
        lambda rng, n: rng.geometric(0.2, n).astype(np.int64),
        lambda rng, n: rng.geometric(0.2, n).astype(np.int64),
        "stable",
        "",
    ),
    Column("count_4", "numeric", _poisson(0.5), _poisson(0.5), "stable", ""),
    Column(
        "count_5",
        "numeric",
        lambda rng, n: rng.integers(0, 1000, n, dtype=np.int64),
        lambda rng, n: rng.integers(0, 1000, n, dtype=np.int64),
        "stable",
        "",
    ),
    Column("cat_0", "categorical", _categories("a", 5, Z5), _categories("a", 5, Z5), "stable", ""),
    Column(
        "cat_1",
        "categorical",
        _categories("b", 10, Z10),
        _categories("b", 10, _swap_top(Z10)),
        "drift",
        "top 2 categories' shares swapped with the 3rd and 4th",
    ),
    Column("cat_2", "categorical", _categories("c", 20, Z20), _categories("c", 20, Z20), "stable", ""),
    Column(
        "cat_3",
        "categorical",
        _categories("d", 35, Z35),
        _categories("d", 35, _flatten(Z35, 0.6), extra=("d_new", 0.05)),
        "drift",
        "flatter mix + 5 % of a value never seen in the reference",
    ),
    Column("cat_4", "categorical", _categories("e", 50, Z50), _categories("e", 50, Z50), "stable", ""),
]

NUMERIC = [c.name for c in COLUMNS if c.kind == "numeric"]
CATEGORICAL = [c.name for c in COLUMNS if c.kind == "categorical"]
DRIFTED = [c.name for c in COLUMNS if c.expect == "drift"]
SUBTLE = [c.name for c in COLUMNS if c.expect == "subtle"]


def generate(rows: int, role: str) -> pa.Table:
    """The ``role`` ("reference" or "current") table of ``rows`` rows; the same seed gives the same table."""
    seed = SEED_REFERENCE if role == "reference" else SEED_CURRENT
    arrays = []
    for i, column in enumerate(COLUMNS):
        # one generator per column, so a column's values do not depend on the columns before it
        rng = np.random.default_rng([seed, i])
        draw = column.reference if role == "reference" else column.current
        values = draw(rng, rows)
        arrays.append(values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True))
    return pa.table(arrays, names=[c.name for c in COLUMNS])


def paths(folder: Path, size: int) -> dict[str, Path]:
    return {
        "reference": folder / f"reference-{size}.parquet",
        "current": folder / f"current-{size}.parquet",
        "window": folder / f"window-{WINDOW_ROWS}.parquet",
        "stored_reference": folder / f"reference-{size}.shipyard",  # written by the Shipyard side
        "grids": folder / f"grids-{size}.npz",  # Shipyard's reference grids, written by the Shipyard side
    }


def write_tables(folder: Path, sizes: list[int]) -> dict[str, int]:
    """Write every size's reference and current tables and the 10,000-row window; return the file sizes."""
    largest = max(sizes)
    written: dict[str, int] = {}
    for role in ("reference", "current"):
        table = generate(largest, role)
        for size in sizes:
            path = paths(folder, size)[role]
            pq.write_table(table.slice(0, size), path)
            written[path.name] = path.stat().st_size
        if role == "current":
            window = paths(folder, largest)["window"]
            pq.write_table(table.slice(0, WINDOW_ROWS), window)
            written[window.name] = window.stat().st_size
    return written
