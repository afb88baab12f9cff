"""Measuring one window column against its reference: counted in one pass, then every statistic from the counts.

``measure`` reads the column once (numeric: binned on the reference's grid; categorical: Arrow's
``value_counts``) and computes the chosen method's value (and p-value), what is missing or outside the
reference, and the histogram a report draws. ``statistics.compute_drift`` turns that into a ``ColumnDrift``.
"""

from __future__ import annotations

import importlib
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import MissingDependency
from shipyard.data.summary import numeric_values
from shipyard.monitoring._reference_columns import CategoricalReference, ColumnReference, NumericReference

COARSE_BINS = 20
EMPTY_SHARE = 1e-4
"""PSI's stand-in for the share of an empty bin (log of zero is undefined)."""
STD_FLOOR = 0.001
KS_EXACT_N = 10_000
"""Largest harmonic sample size for which the KS p-value uses the exact distribution of D."""
HISTOGRAM_VALUES = 20
OTHER = "(other)"

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Measured:
    """What one window column measured against its reference."""

    judged: bool  # enough rows on both sides to judge
    value: float | None
    p_value: float | None
    missing: int  # nulls, NaN and infinities
    rows: int  # the values compared
    outside: int  # values outside the reference's range or kept values
    histogram: dict[str, Any]


def measure(ref: ColumnReference, column: pa.ChunkedArray, method: str, min_rows: int, enough: bool) -> Measured:
    """``column`` measured against ``ref`` with ``method``; ``enough`` says whether the window has ``min_rows``."""
    if isinstance(ref, NumericReference):
        return _numeric_drift(ref, _count_numeric(column, ref), method, min_rows, enough)
    return _categorical_drift(ref, _count_categorical(column, ref), method, min_rows, enough)


# --- numeric columns ------------------------------------------------------------------------------------------
@dataclass
class _NumericCounts:
    bins: I64  # [below the minimum, one per grid bin [e_{j-1}, e_j), above the maximum]
    missing: int
    below_sum: float = 0.0  # sum of (minimum - v) over the values below the minimum
    above_sum: float = 0.0  # sum of (v - maximum) over the values above the maximum

    @property
    def rows(self) -> int:
        return int(self.bins.sum())


def _count_numeric(column: pa.ChunkedArray, ref: NumericReference) -> _NumericCounts:
    """The window's values per bin of ``ref.grid``, in one pass per chunk (NaN and ±inf count as missing)."""
    grid, edges = ref.grid, len(ref.grid)
    counts = _NumericCounts(np.zeros(edges + 1, dtype=np.int64), column.null_count)
    for chunk in column.chunks:
        if chunk.null_count:
            chunk = chunk.drop_null()
        if not len(chunk):
            continue
        x = numeric_values(chunk, ref.logical_type)  # null-free integers and floats: no copy
        if not edges:  # an empty reference: only the missing values matter
            counts.missing += int(len(x) - np.isfinite(x).sum())
            counts.bins[0] += int(np.isfinite(x).sum())
            continue
        bins = _bin_counts(x, grid)
        if bins[0]:
            low = x[x < ref.minimum]  # bin 0 is exactly "below the minimum" (grid[0] is the minimum)
            finite = low[np.isfinite(low)]
            counts.missing += len(low) - len(finite)
            counts.below_sum += float((ref.minimum - finite).sum())
            bins[0] = len(finite)
        if bins[edges]:
            high = x[x > ref.maximum]  # the last edge is the float after the maximum; NaN is not > anything
            finite = high[np.isfinite(high)]
            counts.missing += int(bins[edges]) - len(finite)
            counts.above_sum += float((finite - ref.maximum).sum())
            bins[edges] = len(finite)
        counts.bins += bins
    return counts


def _bin_counts(x: npt.NDArray[Any], grid: F64) -> I64:
    """How many of ``x`` lie below ``grid[0]``, in each ``[grid[j-1], grid[j])``, and at or above ``grid[-1]``.

    Sorting the values and then placing the ~1,000 edges among them is several times faster than placing
    each value among the edges (a branchy binary search per value): numpy's sort is vectorised. Integers are
    sorted as integers (faster still) and compared as floats. NaN sorts last, so it falls in the last bin.
    """
    ordered = np.sort(x)
    if ordered.dtype.kind in "iu":
        ordered = ordered.astype(np.float64)
    below = np.searchsorted(ordered, grid, side="left")  # values < e_j: bin j-1 ends there
    counts: I64 = np.diff(below, prepend=0, append=len(ordered)).astype(np.int64, copy=False)
    return counts


def _numeric_drift(ref: NumericReference, counts: _NumericCounts, method: str, min_rows: int, enough: bool) -> Measured:
    m = counts.rows
    below, above = (int(counts.bins[0]), int(counts.bins[-1])) if len(counts.bins) > 1 else (0, 0)
    edges, ref_shares, cur_shares = _coarse(ref, counts)
    value = p_value = None
    judged = enough and m >= min_rows and ref.count >= min_rows
    if judged and method in ("psi", "jensen_shannon"):
        value = _distance(method, ref_shares, cur_shares)
    elif judged:
        value, p_value = _numeric_statistic(method, ref, counts)
    histogram = _numeric_histogram(ref, edges, ref_shares, cur_shares)
    return Measured(judged, value, p_value, counts.missing, m, below + above, histogram)


def _numeric_statistic(method: str, ref: NumericReference, counts: _NumericCounts) -> tuple[float, float | None]:
    m = counts.rows
    # Share of each side below every grid edge; the window's includes its values below the minimum.
    ref_cdf, cur_cdf = ref.shares_below, np.cumsum(counts.bins[:-1]) / m
    gap = ref_cdf - cur_cdf
    if method == "ks":
        d = float(np.abs(gap).max())
        return d, _ks_p_value(d, ref.sample or ref.count, m)
    if method == "wasserstein":
        # Within a bin both CDFs are taken as linear, so |gap| integrates exactly over each bin; beyond the
        # reference's range the window's own values give the area.
        a, b, width = gap[:-1], gap[1:], np.diff(ref.grid)
        same_sign = a * b >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            crossing = np.where(same_sign, 0.0, (a * a + b * b) / (2 * (np.abs(a) + np.abs(b))))
        area = np.where(same_sign, (np.abs(a) + np.abs(b)) / 2, crossing) * width
        w1 = float(area.sum()) + (counts.below_sum + counts.above_sum) / m
        return w1 / max(ref.std, STD_FLOOR), None
    raise AssertionError(f"{method!r} is not computed on the fine grid")


def _coarse(ref: NumericReference, counts: _NumericCounts) -> tuple[F64, F64, F64]:
    """Edges of ~``COARSE_BINS`` bins of equal reference mass, and both sides' shares of [below, bins…, above]."""
    if not len(ref.grid):
        return np.empty(0), np.empty(0), np.empty(0)
    cdf = ref.shares_below
    levels = np.arange(1, COARSE_BINS) / COARSE_BINS
    bounds = np.unique(np.concatenate([[0], np.searchsorted(cdf, levels), [len(cdf) - 1]]))
    m = max(counts.rows, 1)
    cur_below = np.cumsum(counts.bins[:-1])[bounds] / m
    ref_shares = np.concatenate([[0.0], np.diff(cdf[bounds]), [0.0]])
    cur_shares = np.concatenate([[counts.bins[0] / m], np.diff(cur_below), [counts.bins[-1] / m]])
    return ref.grid[bounds], ref_shares, cur_shares


def _numeric_histogram(ref: NumericReference, edges: F64, ref_shares: F64, cur_shares: F64) -> dict[str, Any]:
    if not len(edges):
        return {"labels": [], "edges": [], "reference": [], "current": []}
    low, high = _label(ref.minimum, ref.logical_type), _label(ref.maximum, ref.logical_type)
    labels = [f"< {low}"]
    for lo, hi in itertools.pairwise(edges):
        single = hi == np.nextafter(lo, np.inf)  # the bin of one value (an atom, or the maximum)
        labels.append(
            _label(lo, ref.logical_type)
            if single
            else f"[{_label(lo, ref.logical_type)}, {_label(hi, ref.logical_type)})"
        )
    labels.append(f"> {high}")
    return {
        "labels": labels,
        "edges": [float(e) for e in edges],
        "reference": [float(s) for s in ref_shares],
        "current": [float(s) for s in cur_shares],
    }


def _label(value: float, logical: str) -> str:
    if logical == "date":
        return str(np.datetime64(math.floor(value), "D"))
    if logical == "datetime":
        return str(np.datetime64(math.floor(value), "us")) + "Z"
    return f"{value:.4g}"


# --- categorical columns --------------------------------------------------------------------------------------
@dataclass
class _CategoricalCounts:
    cells: I64  # the window's count of each reference value, then of every other value
    missing: int
    unseen: int  # values not among the reference's kept values

    @property
    def rows(self) -> int:
        return int(self.cells.sum())


def _count_categorical(column: pa.ChunkedArray, ref: CategoricalReference) -> _CategoricalCounts:
    counted = pc.value_counts(column)
    present = counted.field("values").is_valid()
    values = counted.field("values").filter(present)
    counts = counted.field("counts").filter(present).to_numpy()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    found = pc.index_in(values.cast(pa.large_string()), value_set=pa.array(ref.values, pa.large_string()))
    known = found.is_valid().to_numpy(zero_copy_only=False)
    index = pc.fill_null(found, len(ref.values)).to_numpy()
    cells = np.zeros(len(ref.values) + 1, dtype=np.int64)
    np.add.at(cells, index, counts)
    return _CategoricalCounts(cells, column.null_count, int(counts[~known].sum()))


def _categorical_drift(
    ref: CategoricalReference, counts: _CategoricalCounts, method: str, min_rows: int, enough: bool
) -> Measured:
    m = counts.rows
    ref_cells = np.append(ref.counts, ref.other)
    value = p_value = None
    judged = enough and m >= min_rows and ref.count >= min_rows
    if judged:
        used = (ref_cells + counts.cells) > 0
        observed, expected = counts.cells[used], ref_cells[used]
        if method == "chi2":
            value, p_value = _chi2(expected, observed)
        else:
            value = _distance(method, expected / expected.sum(), observed / m)
    histogram = _categorical_histogram(ref, ref_cells, counts.cells)
    return Measured(judged, value, p_value, counts.missing, m, counts.unseen, histogram)


def _categorical_histogram(ref: CategoricalReference, ref_cells: I64, cur_cells: I64) -> dict[str, Any]:
    p = ref_cells / max(int(ref_cells.sum()), 1)
    q = cur_cells / max(int(cur_cells.sum()), 1)
    shown = np.argsort(-np.maximum(p[:-1], q[:-1]), kind="stable")[: HISTOGRAM_VALUES - 1]
    shown.sort()  # in reference order: most frequent first
    rest = np.setdiff1d(np.arange(len(p)), shown)
    return {
        "labels": [ref.values[i] for i in shown] + [OTHER],
        "reference": [float(p[i]) for i in shown] + [float(p[rest].sum())],
        "current": [float(q[i]) for i in shown] + [float(q[rest].sum())],
    }


# --- the formulas ---------------------------------------------------------------------------------------------
def _distance(method: str, p: F64, q: F64) -> float:
    """PSI, Jensen-Shannon distance (natural log) or L-infinity between two distributions over the same bins."""
    if method == "psi":
        p, q = np.where(p > 0, p, EMPTY_SHARE), np.where(q > 0, q, EMPTY_SHARE)
        return float(((q - p) * np.log(q / p)).sum())
    if method == "jensen_shannon":
        mid = (p + q) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            kl_p = np.where(p > 0, p * np.log(p / mid), 0.0).sum()
            kl_q = np.where(q > 0, q * np.log(q / mid), 0.0).sum()
        return float(math.sqrt(max((kl_p + kl_q) / 2, 0.0)))
    if method == "linf":
        return float(np.abs(p - q).max())
    raise AssertionError(f"no distance called {method!r}")


def _ks_p_value(d: float, n: int, m: int) -> float:
    """Two-sided p-value of D for samples of n and m values, from the distribution of D for en = nm/(n+m).

    Up to ``KS_EXACT_N`` that is scipy's ``kstwo`` (as ``ks_2samp(method="asymp")``); beyond, Kolmogorov's
    limit ``kstwobign`` at D·sqrt(en), within 0.003 of it there and closer as en grows, where ``kstwo`` can
    take half a second per call.
    """
    stats = _scipy("stats")
    effective = n * m / (n + m)
    if effective <= KS_EXACT_N:
        return float(stats.kstwo.sf(d, round(effective)))
    return float(stats.kstwobign.sf(d * math.sqrt(effective)))


def _chi2(reference: I64, window: I64) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity on the 2 x k table of counts (scipy's chi2_contingency)."""
    if len(reference) < 2:
        return 0.0, 1.0
    table = np.vstack([reference, window]).astype(np.float64)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    special = _scipy("special")
    return statistic, float(special.chdtrc(len(reference) - 1, statistic))


def _scipy(module: str) -> Any:
    try:
        return importlib.import_module(f"scipy.{module}")
    except ImportError as exc:
        raise MissingDependency.for_extra("scipy", "monitor", "The ks and chi2 drift tests' p-values") from exc
