"""Column summaries, written once for dataset profiles (``data.profile``) and drift references (``monitoring``).

- ``column_logical_type`` and ``numeric_values``: the logical type of any Arrow column a user or a production
  window may hold (any integer or float width, string flavour, timestamp unit, or a dictionary of them), and
  a numeric chunk as numbers (dates as days and datetimes as microseconds since 1970-01-01 UTC);
- ``NumericSummary``: count, extremes, mean and standard deviation of a numeric column read chunk by chunk,
  in one vectorised pass per chunk (each chunk's mean and squared deviations merged with Chan's parallel
  formula, so the figures are exact up to float rounding, whatever the chunking);
- ``most_frequent``: the most frequent values of counted ones, in the one order both summaries report.

A profile and a reference of the same column therefore agree on its count, nulls, extremes and moments;
``tests/monitoring/test_reference.py`` checks it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

__all__ = ["NumericSummary", "column_logical_type", "most_frequent", "numeric_values"]

F64 = npt.NDArray[np.float64]
_US_PER_UNIT = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
_MS_PER_DAY = 86_400_000.0


def column_logical_type(arrow_type: pa.DataType) -> str | None:
    """The logical type of ``arrow_type`` (``integer``, ``float``, ``boolean``, ``string``, ``datetime``,
    ``date``), or None for a type no summary covers (binary, decimal, nested, …).

    Any integer or float width, string flavour and timestamp unit is accepted, and a dictionary as its
    values' type, so a column need not be in the canonical form of ``shipyard.data.tables``.
    """
    if pa.types.is_dictionary(arrow_type):
        return column_logical_type(arrow_type.value_type)
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return "string"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    if pa.types.is_date(arrow_type):
        return "date"
    return None


def numeric_values(chunk: pa.Array, logical: str) -> npt.NDArray[Any]:
    """One chunk of a numeric column as numbers, nulls as NaN (dates in days, datetimes in µs since 1970).

    A null-free integer or float chunk comes back without a copy.
    """
    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    values: npt.NDArray[Any]
    if logical == "datetime":
        values = chunk.view(pa.int64()).to_numpy(zero_copy_only=False)
        scale = _US_PER_UNIT[chunk.type.unit]
        if scale != 1.0 or chunk.null_count:
            values = values.astype(np.float64) * scale
    elif logical == "date" and pa.types.is_date64(chunk.type):
        values = chunk.view(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64) / _MS_PER_DAY
    elif logical == "date":
        values = chunk.view(pa.int32()).to_numpy(zero_copy_only=False)
    else:
        values = chunk.to_numpy(zero_copy_only=False)
    return values


class NumericSummary:
    """Count, extremes and moments of the finite values of a numeric column, taken in chunk by chunk.

    ``add`` counts NaN and ±inf in ``nonfinite`` and leaves them out of everything else: ``count``, ``low``
    and ``high`` (None before any finite value), ``mean`` and ``std`` (population; NaN while ``count`` is 0).

    >>> summary = NumericSummary()
    >>> summary.add(np.array([1.0, 2.0, np.inf]))
    >>> (summary.count, summary.nonfinite, summary.low, summary.high, summary.mean)
    (2, 1, 1.0, 2.0, 1.5)
    """

    def __init__(self) -> None:
        self.count = 0
        self.nonfinite = 0
        self.low: float | None = None
        self.high: float | None = None
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def add(self, x: F64, extremes: tuple[float, float] | None = None) -> F64:
        """Take in the float64 values ``x`` and return their finite ones (``x`` itself when all are).

        ``extremes``, ``x``'s own minimum and maximum when the caller has them already, saves a pass.
        """
        low, high = (float(x.min()), float(x.max())) if extremes is None and len(x) else extremes or (0.0, 0.0)
        finite = x if math.isfinite(low) and math.isfinite(high) else x[np.isfinite(x)]
        self.nonfinite += len(x) - len(finite)
        if not len(finite):
            return finite
        if finite is not x:
            low, high = float(finite.min()), float(finite.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        n_b = len(finite)
        with np.errstate(invalid="ignore", over="ignore"):  # values near the float64 limit: no figure, no warning
            mean_b = float(finite.mean())
            deviation = finite - mean_b
            # Not np.dot: a multi-threaded BLAS fights the Parquet writer thread for the cores and stalls.
            m2_b = float(np.square(deviation, out=deviation).sum())
        n_a, self.count = self.count, self.count + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / self.count
        self.m2 += m2_b + delta * delta * n_a * n_b / self.count
        return finite


def most_frequent(values: list[Any], counts: list[int], n: int) -> list[tuple[Any, int]]:
    """The ``n`` most frequent of the distinct ``values`` counted ``counts`` times, most frequent first, ties by
    value: the order of a profile's ``top`` and of a reference's kept values."""
    return sorted(zip(values, counts, strict=True), key=lambda pair: (-pair[1], pair[0]))[:n]
