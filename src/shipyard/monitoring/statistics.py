"""Drift statistics: how far a window of production data has moved from its reference, column by column.

>>> report = compute_drift(reference, window)            # reference: monitoring.reference.Reference
>>> report.status, report.drifted
('drift', ['monthly'])

Each window column is read once: a numeric column is counted into the bins of its reference's grid (its
values sorted, then the grid's edges placed among them with ``np.searchsorted``), which gives the window's
CDF at every grid edge, and a categorical column is counted with Arrow's ``value_counts``. Every statistic
then comes from those counts and the stored reference summary, without a second look at either table:

- numeric: ``ks`` (two-sample Kolmogorov-Smirnov D and p-value), ``wasserstein`` (W1 divided by the
  reference's standard deviation), ``psi`` and ``jensen_shannon`` (on 20 bins of equal reference mass plus
  one below the reference's minimum and one above its maximum);
- categorical: ``chi2`` (chi-squared test of homogeneity of reference and window counts), ``linf`` (largest
  change of a value's share), ``jensen_shannon`` and ``psi`` (on the values' shares).

The formulas, default methods and thresholds, and the approximations with their error bounds are in
``docs/drift.md``. scipy (the ``monitor`` extra) is needed for the p-values of ``ks`` and ``chi2`` only.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput, MissingDependency
from shipyard.data.schema import json_safe
from shipyard.monitoring.reference import (
    CategoricalReference,
    ColumnReference,
    NumericReference,
    Reference,
    column_logical_type,
    numeric_values,
)

__all__ = [
    "CATEGORICAL_METHODS",
    "DEFAULT_THRESHOLDS",
    "NUMERIC_METHODS",
    "ColumnDrift",
    "DriftReport",
    "compute_drift",
    "default_method",
]

NUMERIC_METHODS = ("ks", "wasserstein", "psi", "jensen_shannon")
CATEGORICAL_METHODS = ("chi2", "linf", "jensen_shannon", "psi")
P_VALUE_METHODS = frozenset({"ks", "chi2"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chi2": 0.05,
    "wasserstein": 0.1,
    "jensen_shannon": 0.1,
    "psi": 0.1,
    "linf": 0.1,
}
SMALL_SAMPLE = 1000
"""At most this many values on either side: p-value tests by default; above, distances (as Evidently)."""
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
_ALL_METHODS = tuple(dict.fromkeys(NUMERIC_METHODS + CATEGORICAL_METHODS))


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one column; see ``docs/drift.md`` for what each method's value means."""

    column: str
    kind: str
    method: str
    value: float | None
    p_value: float | None
    threshold: float
    status: str
    rows: int
    missing_share: float
    reference_missing_share: float
    out_of_domain_share: float
    histogram: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def __repr__(self) -> str:
        from shipyard.monitoring.display import column_line

        return column_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.monitoring.display import column_html

        return column_html(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        safe: dict[str, Any] = json_safe(asdict(self))
        return safe


@dataclass(frozen=True)
class DriftReport:
    """The drift of every compared column of one window (``rows`` rows)."""

    rows: int
    min_rows: int
    columns: dict[str, ColumnDrift]

    @property
    def status(self) -> str:
        """``insufficient_data`` when the window, or every column, has too few rows; else drift / no_drift."""
        judged = [c for c in self.columns.values() if c.status != "insufficient_data"]
        if self.rows < self.min_rows or not judged:
            return "insufficient_data"
        return "drift" if any(c.drifted for c in judged) else "no_drift"

    @property
    def drifted(self) -> list[str]:
        return [name for name, c in self.columns.items() if c.drifted]

    def __repr__(self) -> str:
        from shipyard.monitoring.display import drift_line

        return drift_line(self.to_dict())

    def _repr_html_(self) -> str:
        from shipyard.monitoring.display import drift_html

        return drift_html(self.to_dict())

    @property
    def share_drifted(self) -> float:
        """Drifted columns as a share of the columns that could be judged (0.0 if none could)."""
        judged = sum(c.status != "insufficient_data" for c in self.columns.values())
        return len(self.drifted) / judged if judged else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "min_rows": self.min_rows,
            "status": self.status,
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }


def default_method(column: NumericReference | CategoricalReference, window_rows: int) -> tuple[str, float]:
    """The method and threshold used for ``column`` when none is given, by its kind and the sample sizes.

    Evidently's rule, applied to the smaller of the two samples (a test's power depends on both): with at
    most ``SMALL_SAMPLE`` values on either side, a test at the 5 % level (``ks``, ``chi2``); with more, a
    distance at 0.1 (normalised ``wasserstein``, ``jensen_shannon``). A categorical column keeps ``chi2``
    while Jensen-Shannon's no-drift noise, about sqrt((values - 1) / (8 n)) for n = the samples' harmonic
    size, could exceed half the threshold (n < 50 × (values - 1)).
    """
    n, m = column.count, window_rows
    small = min(n, m) <= SMALL_SAMPLE
    if isinstance(column, NumericReference):
        method = "ks" if small else "wasserstein"
    else:
        cells = len(column.values) + (1 if column.other else 0)
        effective = n * m / (n + m) if n + m else 0.0
        method = "chi2" if small or effective < 50 * (cells - 1) else "jensen_shannon"
    return method, DEFAULT_THRESHOLDS[method]


def compute_drift(
    reference: Reference,
    window: pa.Table,
    *,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    min_rows: int = 100,
) -> DriftReport:
    """Compare ``window`` (a pyarrow Table with the reference's columns; others are ignored) to ``reference``.

    ``columns`` limits the comparison (default: every reference column). ``methods`` and ``thresholds`` map
    a column, or ``"*"`` for every column, to a method of ``NUMERIC_METHODS`` / ``CATEGORICAL_METHODS`` and
    its threshold (p-value methods drift when p < threshold, distances when value >= threshold); by default
    each column gets ``default_method``. A window, or a column, with fewer than ``min_rows`` values is
    ``insufficient_data``, never drift or no_drift. Raises InvalidInput naming every problem with the
    arguments at once.
    """
    if isinstance(window, pa.RecordBatch):
        window = pa.Table.from_batches([window])
    if not isinstance(window, pa.Table):
        raise InvalidInput(
            f"compute_drift needs the window as a pyarrow Table; got {type(window).__name__}. "
            "Convert it with shipyard.data.tables.as_arrow (or pa.Table.from_pandas)."
        )
    plan = _plan(reference, window, columns, methods, thresholds, min_rows)
    results = {}
    for ref, method, threshold in plan:
        column = window.column(ref.name)
        enough = window.num_rows >= min_rows
        if isinstance(ref, NumericReference):
            results[ref.name] = _numeric_drift(ref, _count_numeric(column, ref), method, threshold, min_rows, enough)
        else:
            results[ref.name] = _categorical_drift(
                ref, _count_categorical(column, ref), method, threshold, min_rows, enough
            )
    return DriftReport(rows=window.num_rows, min_rows=min_rows, columns=results)


# --- arguments -----------------------------------------------------------------------------------------------
def _plan(
    reference: Reference,
    window: pa.Table,
    columns: Sequence[str] | None,
    methods: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
    min_rows: int,
) -> list[tuple[ColumnReference, str, float]]:
    """Each compared column's reference, method and threshold; one InvalidInput listing every problem."""
    problems: list[str] = []
    if isinstance(min_rows, bool) or not isinstance(min_rows, numbers.Integral) or min_rows < 1:
        problems.append(f"min_rows must be a positive whole number of rows; got {min_rows!r}")
    if isinstance(columns, str):
        problems.append(f"columns must be a list of column names; got the string {columns!r}")
        columns = [columns]
    names = list(reference.columns) if columns is None else list(columns)
    unknown = [n for n in names if n not in reference.columns]
    if unknown:
        problems.append(
            f"columns {', '.join(map(repr, unknown))} are not in the reference "
            f"(its columns: {', '.join(reference.columns)})"
        )
    compared = [reference.columns[n] for n in dict.fromkeys(names) if n in reference.columns]
    absent = [c.name for c in compared if c.name not in window.column_names]
    if absent:
        problems.append(
            f"the window lacks the columns {', '.join(map(repr, absent))} "
            f"(its columns: {', '.join(window.column_names) or 'none'})"
        )
    for ref in compared:
        if ref.name not in absent:
            problems.extend(_type_problem(ref, window.schema.field(ref.name).type))
    methods = _mapping("methods", methods, problems)
    thresholds = _mapping("thresholds", thresholds, problems)
    known = {c.name for c in compared} | {"*"}
    for what, given in (("methods", methods), ("thresholds", thresholds)):
        stray = [k for k in given if k not in known]
        if stray:
            problems.append(
                f"{what} names {', '.join(map(repr, stray))}, which are not compared; use compared column "
                f'names or "*" for every column'
            )
    plan = []
    for ref in compared:
        method = _method(ref, methods, problems)
        if method is None:
            non_null = window.num_rows - window.column(ref.name).null_count if ref.name not in absent else 0
            method = default_method(ref, non_null)[0]
        threshold = _threshold(ref.name, method, thresholds, problems)
        plan.append((ref, method, threshold))
    if problems:
        raise InvalidInput("Cannot compute drift:\n  - " + "\n  - ".join(dict.fromkeys(problems)))
    return plan


def _mapping(what: str, given: object, problems: list[str]) -> Mapping[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        problems.append(f'{what} must map column names (or "*") to values; got {type(given).__name__}')
        return {}
    return given


def _type_problem(ref: ColumnReference, arrow_type: pa.DataType) -> list[str]:
    logical = column_logical_type(arrow_type)
    if ref.kind == "numeric":
        fits = (
            logical in ("integer", "float") if ref.logical_type in ("integer", "float") else logical == ref.logical_type
        )
    else:
        fits = logical == ref.logical_type
    if fits:
        return []
    expected = "integer or float" if ref.logical_type in ("integer", "float") else ref.logical_type
    return [
        f"the window's column {ref.name!r} is {arrow_type} ({logical or 'not comparable'}), but the reference "
        f"holds a {ref.kind} column of type {ref.logical_type}: expected {expected} values"
    ]


def _method(ref: ColumnReference, methods: Mapping[str, Any], problems: list[str]) -> str | None:
    key = ref.name if ref.name in methods else "*" if "*" in methods else None
    if key is None:
        return None
    method = methods[key]
    if not isinstance(method, str) or method not in _ALL_METHODS:
        close = difflib.get_close_matches(str(method).lower().replace("-", "_"), _ALL_METHODS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"methods[{key!r}] is the unknown method {method!r} (methods: {', '.join(_ALL_METHODS)}){hint}")
        return "psi"  # a placeholder valid for both kinds, so that one mistake is reported once
    valid = NUMERIC_METHODS if ref.kind == "numeric" else CATEGORICAL_METHODS
    if method not in valid:
        problems.append(
            f"methods[{key!r}] = {method!r} does not apply to the {ref.kind} column {ref.name!r} "
            f"({ref.kind} methods: {', '.join(valid)})"
        )
        return "psi"
    return method


def _threshold(name: str, method: str, thresholds: Mapping[str, Any], problems: list[str]) -> float:
    key = name if name in thresholds else "*" if "*" in thresholds else None
    if key is None:
        return DEFAULT_THRESHOLDS[method]
    value = thresholds[key]
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number <= 0:
        problems.append(f"thresholds[{key!r}] must be a finite number above 0; got {value!r}")
    elif method in P_VALUE_METHODS and number >= 1:
        problems.append(
            f"thresholds[{key!r}] = {value!r} is the significance level of {method} for column {name!r}, "
            "so it must lie between 0 and 1 (0.05 is usual)"
        )
    else:
        return number
    return DEFAULT_THRESHOLDS[method]


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


def _numeric_drift(
    ref: NumericReference, counts: _NumericCounts, method: str, threshold: float, min_rows: int, enough: bool
) -> ColumnDrift:
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
    return _column_drift(
        ref, "numeric", method, threshold, judged, value, p_value, counts.missing, m, below + above, histogram
    )


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
    ref: CategoricalReference, counts: _CategoricalCounts, method: str, threshold: float, min_rows: int, enough: bool
) -> ColumnDrift:
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
    return _column_drift(
        ref, "categorical", method, threshold, judged, value, p_value, counts.missing, m, counts.unseen, histogram
    )


def _column_drift(
    ref: ColumnReference,
    kind: str,
    method: str,
    threshold: float,
    judged: bool,
    value: float | None,
    p_value: float | None,
    missing: int,
    rows: int,
    outside: int,
    histogram: dict[str, Any],
) -> ColumnDrift:
    """What either kind of column measured, as a ColumnDrift (shares, status)."""
    return ColumnDrift(
        column=ref.name,
        kind=kind,
        method=method,
        value=value,
        p_value=p_value,
        threshold=threshold,
        status=_status(judged, method, value, p_value, threshold),
        rows=rows,
        missing_share=_share(missing, rows + missing),
        reference_missing_share=_share(ref.nulls, ref.count + ref.nulls),
        out_of_domain_share=_share(outside, rows),
        histogram=histogram,
    )


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


def _status(judged: bool, method: str, value: float | None, p_value: float | None, threshold: float) -> str:
    if not judged or value is None:
        return "insufficient_data"
    if method in P_VALUE_METHODS:
        return "drift" if p_value is not None and p_value < threshold else "no_drift"
    return "drift" if value >= threshold else "no_drift"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
