"""The reference a window of production data is compared with: one compact summary per column.

``Reference.build(table)`` reads the reference data once (typically the training dataset version) and keeps,
per column, what drift statistics need, so that comparing a window never reads the reference again:

- numeric columns (integers, floats, and dates and datetimes as numbers: days, respectively microseconds,
  since 1970-01-01 UTC): count, nulls, mean, std (population), min, max, and a *grid* of bin edges — the
  quantiles at ``linspace(0, 1, GRID + 1)`` and at 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4 from either end,
  repeated values merged, and after a value that fills several quantiles (an atom, e.g. the 0 of a count)
  and after the maximum the next float, so that such a value has a bin of its own — with ``cdf``, the share
  of the reference *below* each edge;
- categorical columns (strings, booleans as ``"false"``/``"true"``): count, nulls, the ``TOP_VALUES`` most
  frequent values with their counts, and ``other``, the rows holding any further value.

NaN and ±infinity count as missing, as nulls do. What is exact and what is not:

- a ``pa.Table`` (or ``RecordBatch``) is summarised exactly, one column at a time;
- an iterable of record batches is read once, in memory bounded by ``SAMPLE_ROWS`` rows per numeric column
  and ``HEAVY_HITTERS`` values per categorical one: counts, nulls, min and max are exact, and so is
  everything else while there are at most ``SAMPLE_ROWS`` rows (the summary then equals the table's). Beyond,
  mean and std are exact up to float rounding, and grid and cdf are those of a uniform sample of
  ``SAMPLE_ROWS`` rows: the true reference share below each edge is within ±0.005 of ``cdf`` (5 standard
  errors, whatever the distribution). A categorical column with more than ``HEAVY_HITTERS`` distinct values
  is counted with a Misra-Gries summary, each count low by at most rows / 10,001.

``to_bytes()`` / ``from_bytes()`` store a reference compactly (a JSON header plus raw little-endian arrays,
about 16 kB per numeric column) under a format version; ``to_dict()`` is a JSON-ready summary.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data._sketches import HeavyHitters, RowSample

__all__ = [
    "GRID",
    "REFERENCE_FORMAT",
    "SAMPLE_ROWS",
    "TOP_VALUES",
    "CategoricalReference",
    "NumericReference",
    "Reference",
    "column_logical_type",
    "numeric_values",
]

REFERENCE_FORMAT = 1
GRID = 1000
"""Quantile bins of a numeric reference: KS on the grid is within 1/GRID (+2/n) of the exact statistic."""
SAMPLE_ROWS = 262_144
"""Rows of a batch iterable kept per numeric column; beyond, the grid comes from a uniform sample of them."""
TOP_VALUES = 1000
"""Most frequent values kept per categorical column; the rest are counted together in ``other``."""
HEAVY_HITTERS = 10_000
"""Distinct values counted exactly per categorical column of a batch iterable."""
NUMERIC_TYPES = ("integer", "float", "date", "datetime")
CATEGORICAL_TYPES = ("string", "boolean")
SUPPORTED = "integers, floats, booleans, strings (or dictionaries of them), timestamps and dates"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_TAILS = np.array([1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4])
# The grid's probabilities: every 1/GRID, and a few more in each tail, where bins of 1/GRID of the mass are
# widest (a long tail), so that a linear CDF within each bin stays close to the real one.
_LEVELS = np.unique(np.concatenate([np.linspace(0.0, 1.0, GRID + 1), _TAILS, 1.0 - _TAILS]))
_MAGIC = b"SHIPYARD-REFERENCE\n"
_US_PER_UNIT = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
_MS_PER_DAY = 86_400_000.0

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
            "mean": _finite(self.mean),
            "std": _finite(self.std),
            "min": _finite(self.minimum),
            "max": _finite(self.maximum),
            "quantiles": {str(q): _finite(self.quantile(q)) for q in QUANTILES} if self.count else None,
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


@dataclass(frozen=True)
class Reference:
    """Per-column summaries of reference data, to compare windows with (``statistics.compute_drift``).

    >>> reference = Reference.build(training_table)
    >>> Reference.from_bytes(reference.to_bytes()) == reference
    True
    """

    rows: int
    columns: dict[str, ColumnReference]

    @classmethod
    def build(
        cls, source: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch], *, columns: Sequence[str] | None = None
    ) -> Reference:
        """Summarise ``source`` (a table, or record batches read once) in one pass; see the module docstring.

        ``columns`` limits the summary to those columns (default: all). Raises InvalidInput naming every
        column whose type cannot be compared, and for a source without rows.
        """
        if isinstance(source, pa.RecordBatch):
            source = pa.Table.from_batches([source])
        if isinstance(source, pa.Table):
            return _build_table(source, columns)
        if isinstance(source, Iterable):
            return _build_batches(iter(source), columns)
        raise InvalidInput(
            f"A reference is built from a pyarrow Table or an iterable of RecordBatches; got {type(source).__name__}."
            " Convert other tables with shipyard.data.tables.as_arrow first."
        )

    def to_bytes(self) -> bytes:
        """A compact, versioned encoding; ``Reference.from_bytes`` reads it back."""
        arrays: list[bytes] = []
        offset = 0

        def put(array: npt.NDArray[Any], dtype: str) -> list[int]:
            nonlocal offset
            raw = np.ascontiguousarray(array, dtype=dtype).tobytes()
            arrays.append(raw)
            offset += len(raw)
            return [offset - len(raw), len(array)]

        described = []
        for column in self.columns.values():
            entry: dict[str, Any] = {
                "name": column.name,
                "logical_type": column.logical_type,
                "count": column.count,
                "nulls": column.nulls,
            }
            if isinstance(column, NumericReference):
                entry.update(
                    kind="numeric",
                    mean=_finite(column.mean),
                    std=_finite(column.std),
                    minimum=_finite(column.minimum),
                    maximum=_finite(column.maximum),
                    sample=column.sample,
                    grid=put(column.grid, "<f8"),
                    cdf=put(column.shares_below, "<f8"),
                )
            else:
                entry.update(
                    kind="categorical", values=column.values, other=column.other, counts=put(column.counts, "<i8")
                )
            described.append(entry)
        header = json.dumps({"format": REFERENCE_FORMAT, "rows": self.rows, "columns": described}).encode()
        return b"".join([_MAGIC, struct.pack("<I", len(header)), header, *arrays])

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        """The reference encoded by ``to_bytes``; InvalidInput for anything else or an unknown format version."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInput(f"Reference.from_bytes needs bytes; got {type(data).__name__}.")
        data = bytes(data)
        if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
            raise InvalidInput(
                "These bytes are not a Shipyard drift reference (they do not start with its marker); "
                "pass what Reference.to_bytes() wrote."
            )
        start = len(_MAGIC) + 4
        (size,) = struct.unpack("<I", data[len(_MAGIC) : start])
        try:
            header = json.loads(data[start : start + size])
            version = header["format"] if isinstance(header, dict) else None
        except (ValueError, KeyError) as exc:
            raise InvalidInput(f"The drift reference is corrupt: its header cannot be read ({exc}).") from exc
        if version != REFERENCE_FORMAT:
            raise InvalidInput(
                f"The drift reference has format version {version!r}; this version of Shipyard reads version "
                f"{REFERENCE_FORMAT}. Upgrade Shipyard, or build the reference again with Reference.build."
            )
        payload = memoryview(data)[start + size :]
        try:
            built = [_decode_column(entry, payload) for entry in header["columns"]]
            return cls(rows=int(header["rows"]), columns={c.name: c for c in built})
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InvalidInput(
                f"The drift reference is corrupt: {exc!r}. Build it again with Reference.build."
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: per column its counts, moments, quantiles or top values (no grids)."""
        return {
            "format": REFERENCE_FORMAT,
            "rows": self.rows,
            "columns": {name: column.to_dict() for name, column in self.columns.items()},
        }


# --- column types and values -----------------------------------------------------------------------------
def column_logical_type(arrow_type: pa.DataType) -> str | None:
    """The logical type drift statistics treat ``arrow_type`` as, or None if they cannot compare it.

    Any integer or float width, string flavour and timestamp unit is accepted, and a dictionary as its
    values' type, so a window need not be in the canonical form of ``shipyard.data.tables``.
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


def _floats(chunk: pa.Array, logical: str) -> F64:
    return np.asarray(numeric_values(chunk, logical), dtype=np.float64)


def _category_strings(values: pa.Array) -> pa.Array:
    """Distinct values of a string or boolean column as ``large_string`` (booleans as "false"/"true")."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.cast(pa.large_string())


# --- building --------------------------------------------------------------------------------------------
def _select(schema: pa.Schema, columns: Sequence[str] | None) -> list[tuple[str, str]]:
    """``(name, logical type)`` of the chosen columns; InvalidInput naming every problem."""
    if isinstance(columns, str):
        raise InvalidInput(f"columns must be a list of column names; got the string {columns!r}.")
    names = list(schema.names) if columns is None else list(columns)
    problems = []
    missing = [n for n in names if n not in schema.names]
    if missing:
        problems.append(f"not in the source: {', '.join(map(repr, missing))} (its columns: {', '.join(schema.names)})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"named more than once: {', '.join(map(repr, repeated))}")
    unsupported = [
        f"{n!r} ({schema.field(n).type})"
        for n in names
        if n in schema.names and column_logical_type(schema.field(n).type) is None
    ]
    if unsupported:
        problems.append(f"of a type drift cannot compare: {', '.join(unsupported)}; supported: {SUPPORTED}")
    if not names:
        problems.append("none chosen; a reference needs at least one column")
    if problems:
        raise InvalidInput("Cannot build a drift reference; columns " + "; columns ".join(problems) + ".")
    return [(n, str(column_logical_type(schema.field(n).type))) for n in names]


def _build_table(table: pa.Table, columns: Sequence[str] | None) -> Reference:
    chosen = _select(table.schema, columns)
    if table.num_rows == 0:
        raise InvalidInput("Cannot build a drift reference from a table without rows.")
    built: dict[str, ColumnReference] = {}
    for name, logical in chosen:
        column = table.column(name)
        if logical in NUMERIC_TYPES:
            built[name] = _numeric_column(name, logical, column)
        else:
            counted = pc.value_counts(column)
            present = counted.field("values").is_valid()
            values = _category_strings(counted.field("values").filter(present))
            counts = counted.field("counts").filter(present).to_numpy()
            built[name] = _categorical(name, logical, values, counts, column.null_count)
    return Reference(rows=table.num_rows, columns=built)


def _build_batches(batches: Iterator[pa.RecordBatch], columns: Sequence[str] | None) -> Reference:
    first = next(batches, None)
    if not isinstance(first, pa.RecordBatch):
        what = "nothing" if first is None else type(first).__name__
        raise InvalidInput(f"Reference.build needs pyarrow RecordBatches from the iterable; it gave {what}.")
    schema = first.schema
    chosen = _select(schema, columns)
    numeric = {n: _NumericSummary(n, t, SAMPLE_ROWS) for n, t in chosen if t in NUMERIC_TYPES}
    categorical = {n: (t, HeavyHitters(HEAVY_HITTERS)) for n, t in chosen if t in CATEGORICAL_TYPES}
    nulls = dict.fromkeys(categorical, 0)
    rows = 0
    for number, batch in enumerate(_chain(first, batches)):
        if not isinstance(batch, pa.RecordBatch) or not batch.schema.equals(schema):
            got = batch.schema if isinstance(batch, pa.RecordBatch) else type(batch).__name__
            raise InvalidInput(f"Batch {number} does not match the first batch's schema:\n{got}\nexpected:\n{schema}")
        for name, summary in numeric.items():
            summary.update(_floats(batch.column(name), summary.logical))
        for name, (_, counter) in categorical.items():
            column = batch.column(name)
            nulls[name] += column.null_count
            counted = pc.value_counts(column)
            present = counted.field("values").is_valid()
            counter.add(
                _category_strings(counted.field("values").filter(present)),
                counted.field("counts").filter(present).to_numpy(),
            )
        rows += batch.num_rows
    if rows == 0:
        raise InvalidInput("Cannot build a drift reference from batches without rows.")
    built: dict[str, ColumnReference] = {}
    for name, logical in chosen:
        if name in numeric:
            built[name] = numeric[name].finish()
        else:
            counter = categorical[name][1]
            built[name] = _categorical(name, logical, counter.values, counter.counts, nulls[name], rows - nulls[name])
    return Reference(rows=rows, columns=built)


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _categorical(
    name: str, logical: str, values: pa.Array, counts: I64, nulls: int, count: int | None = None
) -> CategoricalReference:
    """Keep the ``TOP_VALUES`` most frequent values (ties by value); ``count`` defaults to the counts' sum."""
    pairs = sorted(zip(values.to_pylist(), counts.tolist(), strict=True), key=lambda p: (-p[1], p[0]))[:TOP_VALUES]
    kept = np.array([c for _, c in pairs], dtype=np.int64)
    total = int(counts.sum()) if count is None else count
    return CategoricalReference(name, logical, total, nulls, [v for v, _ in pairs], kept, total - int(kept.sum()))


def _numeric_column(name: str, logical: str, column: pa.ChunkedArray) -> NumericReference:
    """The exact summary of a whole numeric column: its values sorted once give the moments and the grid.

    The same figures as ``_NumericSummary`` holding every row (moments taken on the sorted values), without
    its sample's bookkeeping. Integers are sorted as integers (faster), then converted: the order holds.
    """
    parts = [numeric_values(chunk.drop_null() if chunk.null_count else chunk, logical) for chunk in column.chunks]
    ordered = np.sort(np.concatenate(parts)) if parts else np.empty(0)
    ordered = ordered.astype(np.float64, copy=False)
    # NaN sorts last, after +inf; -inf first: the finite values are one slice.
    first = int(np.searchsorted(ordered, -np.inf, side="right"))
    end = int(np.searchsorted(ordered, np.inf, side="left"))
    values = ordered[first:end]
    count = len(values)
    grid, cdf = _grid(values)
    mean = float(values.mean()) if count else math.nan
    return NumericReference(
        name=name,
        logical_type=logical,
        count=count,
        nulls=len(column) - count,
        mean=mean,
        std=math.sqrt(float(np.square(values - mean).sum()) / count) if count else math.nan,
        minimum=float(values[0]) if count else math.nan,
        maximum=float(values[-1]) if count else math.nan,
        grid=grid,
        cdf=cdf,
    )


class _NumericSummary:
    """Count, nulls, extremes and moments of a numeric column, and a uniform sample of its rows."""

    def __init__(self, name: str, logical: str, sample_rows: int) -> None:
        self.name, self.logical = name, logical
        self.rows = self.count = 0
        self.mean = self.m2 = 0.0
        self.low, self.high = math.inf, -math.inf
        self.sample = RowSample([name], k=sample_rows)

    def update(self, values: F64) -> None:
        """Take in the next rows (NaN for missing)."""
        finite = np.isfinite(values)
        x = values if finite.all() else values[finite]
        self.sample.add(self.rows, {self.name: pa.array(np.where(finite, values, np.nan))})
        self.rows += len(values)
        if not len(x):
            return
        self.low, self.high = min(self.low, float(x.min())), max(self.high, float(x.max()))
        # Chan's parallel formula merges this chunk's mean and squared deviations into the running ones.
        n_b, mean_b = len(x), float(x.mean())
        m2_b = float(np.square(x - mean_b).sum())
        delta, self.count = mean_b - self.mean, self.count + n_b
        self.mean += delta * n_b / self.count
        self.m2 += m2_b + delta * delta * (self.count - n_b) * n_b / self.count

    def finish(self) -> NumericReference:
        values = np.sort(self.sample.values(self.name))
        exact = self.rows <= self.sample.k
        if exact and len(values):  # every value is at hand: moments independent of the chunking
            self.mean, self.m2 = float(values.mean()), float(np.square(values - values.mean()).sum())
        grid, cdf = _grid(values)
        empty = self.count == 0
        return NumericReference(
            name=self.name,
            logical_type=self.logical,
            count=self.count,
            nulls=self.rows - self.count,
            mean=math.nan if empty else self.mean,
            std=math.nan if empty else math.sqrt(self.m2 / self.count),
            minimum=math.nan if empty else self.low,
            maximum=math.nan if empty else self.high,
            grid=grid,
            cdf=cdf,
            sample=None if exact else len(values),
        )


def _grid(ordered: F64) -> tuple[F64, F64]:
    """Bin edges from sorted values, and the share of the values below each edge (see the module docstring)."""
    n = len(ordered)
    if n == 0:
        return np.empty(0), np.empty(0)
    # numpy's default ("linear") quantiles, computed on the sorted values directly.
    position = _LEVELS * (n - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, n - 1)
    quantiles = ordered[low] + (position - low) * (ordered[high] - ordered[low])
    quantiles = np.maximum.accumulate(quantiles)  # rounding must not make the edges decrease
    distinct, repeats = np.unique(quantiles, return_counts=True)
    atoms = distinct[repeats > 1]
    edges = np.union1d(distinct, np.nextafter(np.append(atoms, ordered[-1]), np.inf))
    below = np.searchsorted(ordered, edges, side="left") / n
    return edges, below


# --- decoding ----------------------------------------------------------------------------------------------
def _decode_column(entry: dict[str, Any], payload: memoryview) -> ColumnReference:
    def take(where: list[int], dtype: str) -> npt.NDArray[Any]:
        start, length = int(where[0]), int(where[1])
        width = np.dtype(dtype).itemsize
        if start < 0 or length < 0 or start + length * width > len(payload):
            raise ValueError(f"array of column {entry['name']!r} lies outside the data")
        return np.frombuffer(payload, dtype=dtype, count=length, offset=start).astype(dtype[1:])

    kind, logical = entry["kind"], entry["logical_type"]
    if kind == "numeric" and logical in NUMERIC_TYPES:
        return NumericReference(
            name=str(entry["name"]),
            logical_type=logical,
            count=int(entry["count"]),
            nulls=int(entry["nulls"]),
            mean=_number(entry["mean"]),
            std=_number(entry["std"]),
            minimum=_number(entry["minimum"]),
            maximum=_number(entry["maximum"]),
            grid=take(entry["grid"], "<f8"),
            cdf=take(entry["cdf"], "<f8"),
            sample=None if entry["sample"] is None else int(entry["sample"]),
        )
    if kind == "categorical" and logical in CATEGORICAL_TYPES:
        values = entry["values"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"the values of column {entry['name']!r} are not a list of strings")
        counts = take(entry["counts"], "<i8")
        if len(counts) != len(values):
            raise ValueError(f"column {entry['name']!r} has {len(values)} values but {len(counts)} counts")
        return CategoricalReference(
            str(entry["name"]), logical, int(entry["count"]), int(entry["nulls"]), values, counts, int(entry["other"])
        )
    raise ValueError(f"column {entry.get('name')!r} has the unknown kind {kind!r} / type {logical!r}")


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _finite(value: float) -> float | None:
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
            *(_finite(f) for f in fields),
        )
    return (column.name, column.logical_type, column.count, column.nulls, column.other)


def _same(a: npt.NDArray[Any] | None, b: npt.NDArray[Any] | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))
