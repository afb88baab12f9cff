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
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data.schema import json_safe
from shipyard.data.summary import column_logical_type
from shipyard.monitoring._drift_measures import Measured, measure
from shipyard.monitoring.reference import (
    CategoricalReference,
    ColumnReference,
    NumericReference,
    Reference,
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
    enough = window.num_rows >= min_rows
    for ref, method, threshold in plan:
        measured = measure(ref, window.column(ref.name), method, min_rows, enough)
        results[ref.name] = _column_drift(ref, method, threshold, measured)
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


def _column_drift(ref: ColumnReference, method: str, threshold: float, measured: Measured) -> ColumnDrift:
    """What either kind of column measured, as a ColumnDrift (shares, status)."""
    return ColumnDrift(
        column=ref.name,
        kind=ref.kind,
        method=method,
        value=measured.value,
        p_value=measured.p_value,
        threshold=threshold,
        status=_status(measured.judged, method, measured.value, measured.p_value, threshold),
        rows=measured.rows,
        missing_share=_share(measured.missing, measured.rows + measured.missing),
        reference_missing_share=_share(ref.nulls, ref.count + ref.nulls),
        out_of_domain_share=_share(measured.outside, measured.rows),
        histogram=measured.histogram,
    )


def _status(judged: bool, method: str, value: float | None, p_value: float | None, threshold: float) -> str:
    if not judged or value is None:
        return "insufficient_data"
    if method in P_VALUE_METHODS:
        return "drift" if p_value is not None and p_value < threshold else "no_drift"
    return "drift" if value >= threshold else "no_drift"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
