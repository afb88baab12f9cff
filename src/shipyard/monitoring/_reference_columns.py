"""The summary of one reference column, as ``Reference`` keeps it: ``NumericReference`` or ``CategoricalReference``.

See ``monitoring.reference`` for what each holds and how it is built; the figures they share with a dataset
profile (count, nulls, extremes, moments) come from ``shipyard.data.summary``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shipyard.data.schema import QUANTILES

NUMERIC_TYPES = ("integer", "float", "date", "datetime")
CATEGORICAL_TYPES = ("string", "boolean")

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class NumericReference:
    """The summary of one numeric column (see the module docstring).

    ``grid`` holds sorted, distinct bin edges and ``cdf`` the reference's share of values below each
    (``cdf[0] == 0``; the last edge is just above the maximum, so ``cdf[-1] == 1``). ``sample`` is how many
    values grid and cdf were computed from (``None``: all ``count``). A hand-made reference may leave ``cdf``
    out: the grid is then taken as quantiles at evenly spaced probabilities.
    """

    name: str
    logical_type: str
    count: int
    nulls: int
    mean: float
    std: float
    minimum: float
    maximum: float
    grid: F64
    cdf: F64 | None = None
    sample: int | None = None

    def __post_init__(self) -> None:
        grid = np.asarray(self.grid, dtype=np.float64)
        object.__setattr__(self, "grid", grid)
        cdf = np.linspace(0.0, 1.0, len(grid)) if self.cdf is None else np.asarray(self.cdf, dtype=np.float64)
        object.__setattr__(self, "cdf", cdf)

    @property
    def kind(self) -> str:
        return "numeric"

    @property
    def shares_below(self) -> F64:
        """``cdf`` as a non-optional array (it is always set after construction)."""
        assert self.cdf is not None
        return self.cdf

    def quantile(self, probability: float) -> float:
        """The reference's quantile at ``probability``, interpolated on the grid."""
        if not len(self.grid):
            return math.nan
        return float(np.interp(probability, self.shares_below, self.grid))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericReference):
            return NotImplemented
        return _scalars(self) == _scalars(other) and _same(self.grid, other.grid) and _same(self.cdf, other.cdf)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "name": self.name,
            "kind": "numeric",
            "logical_type": self.logical_type,
            "count": self.count,
            "nulls": self.nulls,
            "mean": finite_or_none(self.mean),
            "std": finite_or_none(self.std),
            "min": finite_or_none(self.minimum),
            "max": finite_or_none(self.maximum),
            "quantiles": {str(q): finite_or_none(self.quantile(q)) for q in QUANTILES} if self.count else None,
            "grid_edges": len(self.grid),
            "sample": self.sample,
        }
        if self.logical_type == "date":
            summary["unit"] = "days since 1970-01-01"
        elif self.logical_type == "datetime":
            summary["unit"] = "microseconds since 1970-01-01T00:00:00Z"
        return summary


@dataclass(frozen=True, eq=False)
class CategoricalReference:
    """The summary of one string or boolean column: its most frequent values (most frequent first)."""

    name: str
    logical_type: str
    count: int
    nulls: int
    values: list[str]
    counts: I64
    other: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", np.asarray(self.counts, dtype=np.int64))

    @property
    def kind(self) -> str:
        return "categorical"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalReference):
            return NotImplemented
        return _scalars(self) == _scalars(other) and self.values == other.values and _same(self.counts, other.counts)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "categorical",
            "logical_type": self.logical_type,
            "count": self.count,
            "nulls": self.nulls,
            "distinct_kept": len(self.values),
            "other": self.other,
            "top": [[v, int(c)] for v, c in zip(self.values[:top], self.counts[:top].tolist(), strict=True)],
        }


ColumnReference = NumericReference | CategoricalReference


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _scalars(column: NumericReference | CategoricalReference) -> tuple[Any, ...]:
    if isinstance(column, NumericReference):
        fields = (column.mean, column.std, column.minimum, column.maximum)
        # NaN (an empty column) equals NaN here: two summaries of the same empty column are equal.
        return (
            column.name,
            column.logical_type,
            column.count,
            column.nulls,
            column.sample,
            *(finite_or_none(f) for f in fields),
        )
    return (column.name, column.logical_type, column.count, column.nulls, column.other)


def _same(a: npt.NDArray[Any] | None, b: npt.NDArray[Any] | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))
