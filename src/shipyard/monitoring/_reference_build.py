"""Building a reference: each column of a table summarised exactly, or of record batches read once in bounded memory.

``build_table`` and ``build_batches`` return the rows and the column summaries that ``Reference.build`` keeps;
the module docstring of ``monitoring.reference`` says what is exact and what is not.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data._sketches import HeavyHitters, RowSample
from shipyard.data.summary import NumericSummary, column_logical_type, most_frequent, numeric_values
from shipyard.monitoring._reference_columns import (
    CATEGORICAL_TYPES,
    F64,
    I64,
    NUMERIC_TYPES,
    CategoricalReference,
    ColumnReference,
    NumericReference,
)

GRID = 1000
"""Quantile bins of a numeric reference: KS on the grid is within 1/GRID (+2/n) of the exact statistic."""
SAMPLE_ROWS = 262_144
"""Rows of a batch iterable kept per numeric column; beyond, the grid comes from a uniform sample of them."""
TOP_VALUES = 1000
"""Most frequent values kept per categorical column; the rest are counted together in ``other``."""
HEAVY_HITTERS = 10_000
"""Distinct values counted exactly per categorical column of a batch iterable."""
SUPPORTED = "integers, floats, booleans, strings (or dictionaries of them), timestamps and dates"
_TAILS = np.array([1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4])
# The grid's probabilities: every 1/GRID, and a few more in each tail, where bins of 1/GRID of the mass are
# widest (a long tail), so that a linear CDF within each bin stays close to the real one.
_LEVELS = np.unique(np.concatenate([np.linspace(0.0, 1.0, GRID + 1), _TAILS, 1.0 - _TAILS]))

Built = tuple[int, dict[str, ColumnReference]]
"""The rows read and each column's summary."""


def _floats(chunk: pa.Array, logical: str) -> F64:
    return np.asarray(numeric_values(chunk, logical), dtype=np.float64)


def _category_strings(values: pa.Array) -> pa.Array:
    """Distinct values of a string or boolean column as ``large_string`` (booleans as "false"/"true")."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values.cast(pa.large_string())


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


def build_table(table: pa.Table, columns: Sequence[str] | None) -> Built:
    """The exact summary of every chosen column of ``table``."""
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
    return table.num_rows, built


def build_batches(batches: Iterator[pa.RecordBatch], columns: Sequence[str] | None) -> Built:
    """The summary of every chosen column of ``batches``, read once in bounded memory."""
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
    return rows, built


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _categorical(
    name: str, logical: str, values: pa.Array, counts: I64, nulls: int, count: int | None = None
) -> CategoricalReference:
    """Keep the ``TOP_VALUES`` most frequent values (ties by value); ``count`` defaults to the counts' sum."""
    pairs = most_frequent(values.to_pylist(), counts.tolist(), TOP_VALUES)
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
    """A numeric column of a batch iterable: its ``NumericSummary`` and a uniform sample of its rows."""

    def __init__(self, name: str, logical: str, sample_rows: int) -> None:
        self.name, self.logical = name, logical
        self.rows = 0
        self.summary = NumericSummary()
        self.sample = RowSample([name], k=sample_rows)

    def update(self, values: F64) -> None:
        """Take in the next rows (NaN for missing)."""
        seen = self.summary.nonfinite
        self.summary.add(values)
        # The sample drops NaN; ±inf count as missing too, so they become NaN there (a copy only then).
        kept = values if self.summary.nonfinite == seen else np.where(np.isfinite(values), values, np.nan)
        self.sample.add(self.rows, {self.name: pa.array(kept)})
        self.rows += len(values)

    def finish(self) -> NumericReference:
        values = np.sort(self.sample.values(self.name))
        exact = self.rows <= self.sample.k
        summary = self.summary
        mean, std = summary.mean, summary.std
        if exact and len(values):  # every value is at hand: moments independent of the chunking
            mean = float(values.mean())
            std = math.sqrt(float(np.square(values - mean).sum()) / summary.count)
        grid, cdf = _grid(values)
        empty = summary.count == 0
        return NumericReference(
            name=self.name,
            logical_type=self.logical,
            count=summary.count,
            nulls=self.rows - summary.count,
            mean=math.nan if empty else mean,
            std=math.nan if empty else std,
            minimum=math.nan if summary.low is None else summary.low,
            maximum=math.nan if summary.high is None else summary.high,
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
