"""What a dataset version records about its columns: the schema (types, nullability, domain, range) and the
profile (per-column statistics, quantiles, histograms, top values). Plain, JSON-safe dataclasses.

``to_dict()`` gives JSON-ready dicts (no NaN or infinity: a figure that does not exist is ``None``) and
``from_dict()`` reads them back, so the store can keep them as JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LogicalType = Literal["integer", "float", "boolean", "string", "datetime", "date"]
LOGICAL_TYPES: tuple[LogicalType, ...] = ("integer", "float", "boolean", "string", "datetime", "date")
NUMERIC: frozenset[str] = frozenset({"integer", "float"})
DOMAIN_CAP = 100
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_K = 20

Bound = float | str | None


@dataclass(frozen=True)
class ColumnSchema:
    """One column of a dataset version.

    ``nullable`` says whether this version holds a null in the column. ``domain`` lists the distinct values
    (sorted; booleans as ``"false"``/``"true"``) of a string or boolean column with at most ``DOMAIN_CAP``
    of them, else ``None``. ``minimum``/``maximum`` are the exact extremes: numbers for integer and float
    columns, ISO 8601 strings for datetimes and dates, the lexicographic extremes for strings, ``None`` for
    booleans and for infinite extremes.
    """

    name: str
    logical_type: LogicalType
    arrow_type: str
    nullable: bool
    domain: list[str] | None = None
    minimum: Bound = None
    maximum: Bound = None

    def to_dict(self) -> dict[str, Any]:
        safe: dict[str, Any] = json_safe(asdict(self))
        return safe

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        return cls(
            name=data["name"],
            logical_type=_logical(data["logical_type"]),
            arrow_type=data["arrow_type"],
            nullable=bool(data["nullable"]),
            domain=None if data.get("domain") is None else list(data["domain"]),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
        )


@dataclass(frozen=True)
class DatasetSchema:
    """The columns of a dataset version, in order."""

    columns: list[ColumnSchema]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``; ``KeyError`` naming the columns there are."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"No column {name!r}; the columns are {self.names}.")

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSchema:
        return cls(columns=[ColumnSchema.from_dict(c) for c in data["columns"]])


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column (see ``shipyard.data.profile`` for which are exact and which approximate).

    ``count`` counts non-null values, ``nulls`` null ones. ``min``/``max`` are as in ``ColumnSchema``.
    ``mean``/``std`` (population, ddof=0) are for numeric columns; a boolean column's ``mean`` is its share
    of true values. ``quantiles`` maps ``"0.01"`` … ``"0.99"`` to values and ``histogram`` is
    ``{"edges": [21 equal-width edges from min to max], "counts": [20 counts]}`` (numeric only). ``top``
    lists ``[value, count]`` of the most frequent values, most frequent first (strings and booleans).
    ``infinite`` (float columns only) counts the ±inf values among ``count``: they are left out of the
    quantiles and the histogram, whose edges then span the finite values; ``min``/``max`` are then
    ``None`` and ``mean``/``std`` not finite (``None`` in ``to_dict``).
    """

    name: str
    logical_type: LogicalType
    count: int
    nulls: int
    distinct: int
    min: Bound = None
    max: Bound = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float | None] | None = None
    histogram: dict[str, list[Any]] | None = None
    top: list[list[Any]] | None = None
    infinite: int | None = None

    def to_dict(self) -> dict[str, Any]:
        safe: dict[str, Any] = json_safe(asdict(self))
        return safe

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        return cls(
            name=data["name"],
            logical_type=_logical(data["logical_type"]),
            count=int(data["count"]),
            nulls=int(data["nulls"]),
            distinct=int(data["distinct"]),
            min=data.get("min"),
            max=data.get("max"),
            mean=data.get("mean"),
            std=data.get("std"),
            quantiles=None if data.get("quantiles") is None else dict(data["quantiles"]),
            histogram=None if data.get("histogram") is None else dict(data["histogram"]),
            top=None if data.get("top") is None else [list(pair) for pair in data["top"]],
            infinite=None if data.get("infinite") is None else int(data["infinite"]),
        )


@dataclass(frozen=True)
class DatasetProfile:
    """Row count and per-column statistics of a dataset version."""

    rows: int
    columns: list[ColumnProfile] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``; ``KeyError`` naming the columns there are."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"No column {name!r}; the columns are {[c.name for c in self.columns]}.")

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        return cls(rows=int(data["rows"]), columns=[ColumnProfile.from_dict(c) for c in data["columns"]])


def _logical(value: object) -> LogicalType:
    if value not in LOGICAL_TYPES:
        raise ValueError(f"Unknown logical type {value!r}; expected one of {list(LOGICAL_TYPES)}.")
    return value


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
