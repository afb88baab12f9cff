"""Profiling: a dataset's schema and per-column statistics, computed batch by batch in bounded memory.

``Profiler`` works in two passes over the same canonical batches: ``update(batch)`` for every batch, then
(for the histograms, whose edges need the exact min and max) ``update_histograms(batch)`` for every batch
again, then ``finish()``. When the exact extremes are known beforehand (``Profiler(schema,
ranges=numeric_ranges(table))`` for a table in memory) the histograms are counted in the first pass and
the second is skipped. ``write_canonical_parquet`` profiles while it writes: in one pass for in-memory
sources, and for file sources with a second pass over the written file's numeric columns;
``profile_parquet(path)`` profiles a canonical Parquet file in two streaming passes. Memory is bounded by
the batch size plus fixed-size sketches (about 1 MB per numeric column, 64 bytes per kept string value),
whatever the rows.

What is exact and what is not:

- exact: ``rows``, ``count``, ``nulls``, ``min``, ``max``, the histograms' counts (each value in bin
  ``floor((v - min) / width)``, the maximum in the last bin, as ``numpy.histogram`` does: a value within a
  rounding error of an interior edge may land in the bin beside it), a boolean column's counts, string
  ``top`` counts and ``domain`` while a column has at most 10,000 distinct values;
- ``mean`` and ``std`` (population, ddof=0): exact up to float64 rounding (per-batch mean and squared
  deviations, merged with Chan's parallel formula), so their last digits may depend on the chunking;
- ``distinct``: exact up to 4,096 distinct values (10,000 for strings), beyond an estimate with a
  relative standard error of 1.6 % (K-minimum-values over 64-bit hashes);
- ``quantiles``: the exact quantiles (numpy's linear interpolation) of a uniform sample of 65,536 rows,
  so exact for columns of at most 65,536 rows; beyond, the rank of each reported value is within ±0.01
  of the requested quantile (5 standard errors, whatever the distribution);
- ``top`` for string columns with more than 10,000 distinct values: a Misra-Gries summary; each count is
  low by at most rows / 10,001, and every value more frequent than that is listed.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from shipyard.data._sketches import DistinctSketch, HeavyHitters, RowSample, hash_strings, value_counts
from shipyard.data.schema import (
    DOMAIN_CAP,
    HISTOGRAM_BINS,
    NUMERIC,
    QUANTILES,
    TOP_K,
    Bound,
    ColumnProfile,
    ColumnSchema,
    DatasetProfile,
    DatasetSchema,
    LogicalType,
)
from shipyard.data.summary import NumericSummary

__all__ = [
    "NUMERIC",
    "ColumnProfile",
    "ColumnSchema",
    "DatasetProfile",
    "DatasetSchema",
    "Profiler",
    "logical_type",
    "numeric_batches",
    "numeric_ranges",
    "profile_parquet",
]

F64 = npt.NDArray[np.float64]


def logical_type(arrow_type: pa.DataType) -> LogicalType:
    """The logical type of a canonical Arrow type."""
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    if pa.types.is_date(arrow_type):
        return "date"
    raise ValueError(f"{arrow_type} is not a canonical column type; convert the table with as_arrow first.")


class Profiler:
    """Profile canonical record batches: ``update`` each, ``update_histograms`` each again, then ``finish``.

    >>> profiler = Profiler(table.schema)
    >>> for batch in table.to_batches(): profiler.update(batch)
    >>> for batch in table.to_batches(): profiler.update_histograms(batch)
    >>> schema, profile = profiler.finish()

    Skipping the second pass leaves the histograms ``None``; everything else is complete after the first.
    ``ranges`` maps numeric columns to their exact ``(min, max)`` (see ``numeric_ranges``): their histograms
    are then counted in the first pass, and ``needs_histogram_pass`` says whether any column still needs one.
    Everything but ``mean``/``std`` (last digits) and a string column's overflowing ``top`` is independent of
    how the rows are split into batches.
    """

    def __init__(self, schema: pa.Schema, *, ranges: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._columns = [_accumulator(f.name, f.type) for f in schema]
        for acc in self._columns:
            if isinstance(acc, _Numeric) and ranges is not None and acc.name in ranges:
                acc.given_range = ranges[acc.name]
        numeric = [f.name for f in schema if logical_type(f.type) in NUMERIC]
        self._sample = RowSample(numeric)
        self._rows = 0
        self._histogram_rows = 0

    @property
    def rows(self) -> int:
        return self._rows

    def update(self, batch: pa.RecordBatch) -> None:
        """First pass: take in the next batch of rows."""
        numeric = {}
        for column, acc in zip(batch.columns, self._columns, strict=True):
            acc.update(column)
            if isinstance(acc, _Numeric):
                numeric[acc.name] = column
        self._sample.add(self._rows, numeric)
        self._rows += batch.num_rows

    @property
    def needs_histogram_pass(self) -> bool:
        """Whether some numeric column's histogram still needs ``update_histograms`` (no range was given)."""
        return any(isinstance(acc, _Numeric) and acc.given_range is None for acc in self._columns)

    def update_histograms(self, batch: pa.RecordBatch) -> None:
        """Second pass (after every ``update``): count the batch's numeric values into the histograms.

        ``batch`` may hold only the numeric columns (found by name), e.g. read back from the Parquet file.
        """
        for acc in self._columns:
            if isinstance(acc, _Numeric) and acc.given_range is None:
                acc.update_histogram(batch.column(acc.name))
        self._histogram_rows += batch.num_rows

    def finish(self) -> tuple[DatasetSchema, DatasetProfile]:
        """The schema and profile of everything seen."""
        if self._histogram_rows not in (0, self._rows):
            raise ValueError(f"The histogram pass saw {self._histogram_rows} rows, the first pass {self._rows}.")
        parts = [acc.finish(self._sample) for acc in self._columns]
        return DatasetSchema([s for s, _ in parts]), DatasetProfile(self._rows, [p for _, p in parts])


def profile_parquet(path: str | Path, batch_rows: int = 65_536) -> tuple[DatasetSchema, DatasetProfile]:
    """Profile a canonical Parquet file (as ``write_canonical_parquet`` writes) in two streaming passes."""
    parquet = pq.ParquetFile(path)
    profiler = Profiler(parquet.schema_arrow)
    for batch in parquet.iter_batches(batch_size=batch_rows):
        profiler.update(batch)
    for batch in numeric_batches(parquet, batch_rows):
        profiler.update_histograms(batch)
    return profiler.finish()


def numeric_batches(parquet: pq.ParquetFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The numeric columns of a canonical Parquet file, ``batch_rows`` at a time (the histogram pass)."""
    names = [f.name for f in parquet.schema_arrow if logical_type(f.type) in NUMERIC]
    if names:
        yield from parquet.iter_batches(batch_size=batch_rows, columns=names)


def numeric_ranges(table: pa.Table) -> dict[str, tuple[float, float]]:
    """The exact (min, max) of the finite values of every numeric column of ``table`` that has one, for
    ``Profiler(ranges=…)``: the range its histogram spans (infinities are counted apart)."""
    ranges = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        if logical_type(field.type) not in NUMERIC or column.null_count == len(column):
            continue
        if column.null_count == 0:  # numpy's min/max are much faster than Arrow's min_max here
            lows, highs = zip(*((c.to_numpy().min(), c.to_numpy().max()) for c in column.chunks if len(c)), strict=True)
            low, high = min(lows).item(), max(highs).item()
        else:
            extremes = pc.min_max(column)
            low, high = extremes["min"].as_py(), extremes["max"].as_py()
        if not (math.isfinite(low) and math.isfinite(high)):  # only a float column: the rare, slower path
            extremes = pc.min_max(pc.filter(column, pc.is_finite(column)))
            low, high = extremes["min"].as_py(), extremes["max"].as_py()
            if low is None:
                continue  # no finite value: no histogram to count
        ranges[field.name] = (low, high)
    return ranges


# --- one accumulator per column ----------------------------------------------------------------------
class _Column(ABC):
    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        self.name = name
        self.arrow_type = arrow_type
        self.logical = logical_type(arrow_type)
        self.count = 0
        self.nulls = 0

    def update(self, column: pa.Array) -> None:
        self.nulls += column.null_count
        values = column.drop_null() if column.null_count else column
        if len(values):
            self.count += len(values)
            self._update(values)

    @abstractmethod
    def _update(self, values: pa.Array) -> None:
        """Fold one chunk of non-null values into the running statistics."""

    @abstractmethod
    def finish(self, sample: RowSample) -> tuple[ColumnSchema, ColumnProfile]:
        """The column's schema entry and profile, once every chunk is in."""

    def _schema(self, domain: list[str] | None = None, low: Bound = None, high: Bound = None) -> ColumnSchema:
        return ColumnSchema(self.name, self.logical, str(self.arrow_type), self.nulls > 0, domain, low, high)


class _Numeric(_Column):
    """integer and float columns: exact extremes and moments, distinct sketch, histogram (second pass).

    A float column may hold ±inf (NaN is null in a dataset version): such values are counted (``infinite``)
    and left out of the quantiles and the histogram, whose range is that of the finite values.
    """

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        super().__init__(name, arrow_type)
        self.low: Any = None  # the extremes of every value: exact integers, infinities included
        self.high: Any = None
        # Extremes (what the histogram spans) and moments of the finite values, as a drift reference has them.
        self.finite = NumericSummary()
        self.distinct = DistinctSketch()
        self.counts: npt.NDArray[np.int64] | None = None
        self.given_range: tuple[float, float] | None = None  # the finite extremes, known before the first pass

    def _update(self, values: pa.Array) -> None:
        raw = values.to_numpy()  # null-free, so zero-copy
        low, high = raw.min().item(), raw.max().item()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        finite = self.finite.add(raw.astype(np.float64, copy=False), (low, high))
        self.distinct.add_numbers(raw)
        if self.given_range is not None:
            self._count(finite, self._edges(self.given_range))

    @property
    def infinite(self) -> int:
        return self.finite.nonfinite  # NaN is null in a dataset version: every non-finite value is ±inf

    def update_histogram(self, column: pa.Array) -> None:
        values = column.drop_null() if column.null_count else column
        if len(values):
            x = values.to_numpy().astype(np.float64, copy=False)
            self._count(x[np.isfinite(x)] if self.infinite else x, self._edges((self.finite.low, self.finite.high)))

    def _count(self, x: F64, edges: F64 | None) -> None:
        """Count the finite values ``x`` into the bins of ``edges``."""
        if edges is None:
            return
        low, width = edges[0], (edges[-1] - edges[0]) / HISTOGRAM_BINS
        index = ((x - low) / width).astype(np.intp)
        np.clip(index, 0, HISTOGRAM_BINS - 1, out=index)
        counts = np.bincount(index, minlength=HISTOGRAM_BINS)
        self.counts = counts if self.counts is None else self.counts + counts

    @staticmethod
    def _edges(extremes: tuple[Any, Any]) -> F64 | None:
        if extremes[0] is None:
            return None
        low, high = float(extremes[0]), float(extremes[1])
        if low == high:  # numpy's convention for a constant column: a unit-wide range around the value
            low, high = low - 0.5, high + 0.5
        return np.linspace(low, high, HISTOGRAM_BINS + 1)

    def finish(self, sample: RowSample) -> tuple[ColumnSchema, ColumnProfile]:
        values = sample.values(self.name)
        values = values[np.isfinite(values)] if self.infinite else values
        quantiles: dict[str, float | None] | None = None
        if len(values):
            found = np.quantile(values, QUANTILES)
            quantiles = {str(q): float(v) for q, v in zip(QUANTILES, found, strict=True)}
        if self.given_range is not None and self.given_range != (self.finite.low, self.finite.high):
            raise ValueError(f"Column {self.name!r}: the range given, {self.given_range}, is not the data's.")
        edges = self._edges((self.finite.low, self.finite.high))
        histogram = None
        if edges is not None and self.counts is not None:
            histogram = {"edges": edges.tolist(), "counts": self.counts.tolist()}
        low, high = _number(self.low), _number(self.high)
        # An infinite value leaves the mean and std without a finite figure: NaN here, None in to_dict.
        mean, std = (math.nan, math.nan) if self.infinite else (self.finite.mean, self.finite.std)
        empty = self.count == 0
        profile = ColumnProfile(
            self.name,
            self.logical,
            self.count,
            self.nulls,
            self.distinct.estimate(),
            low,
            high,
            mean=None if empty else mean,
            std=None if empty else std,
            quantiles=quantiles,
            histogram=histogram,
            infinite=self.infinite if self.logical == "float" else None,
        )
        return self._schema(None, low, high), profile


class _Temporal(_Column):
    """datetime and date columns: exact extremes (as ISO 8601), distinct sketch."""

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        super().__init__(name, arrow_type)
        self.low: int | None = None
        self.high: int | None = None
        self.distinct = DistinctSketch()
        self.storage = pa.int64() if pa.types.is_timestamp(arrow_type) else pa.int32()

    def _update(self, values: pa.Array) -> None:
        raw = values.view(self.storage).to_numpy()
        low, high = int(raw.min()), int(raw.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        self.distinct.add_numbers(raw)

    def finish(self, sample: RowSample) -> tuple[ColumnSchema, ColumnProfile]:
        low, high = self._iso(self.low), self._iso(self.high)
        return self._schema(None, low, high), ColumnProfile(
            self.name, self.logical, self.count, self.nulls, self.distinct.estimate(), low, high
        )

    def _iso(self, value: int | None) -> str | None:
        if value is None:
            return None
        scalar = pa.scalar(value, self.storage).cast(self.arrow_type)
        try:
            return str(scalar.as_py().isoformat())
        except (ValueError, OverflowError):  # beyond Python's datetime range (years 1-9999)
            return str(scalar)


class _Boolean(_Column):
    """bool columns: exact counts of true and false."""

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        super().__init__(name, arrow_type)
        self.trues = 0

    def _update(self, values: pa.Array) -> None:
        self.trues += int(pc.sum(values).as_py() or 0)

    def finish(self, sample: RowSample) -> tuple[ColumnSchema, ColumnProfile]:
        counts = {"true": self.trues, "false": self.count - self.trues}
        present = sorted(value for value, n in counts.items() if n)
        top = sorted(([value == "true", n] for value, n in counts.items() if n), key=lambda p: (-p[1], p[0]))
        profile = ColumnProfile(
            self.name,
            self.logical,
            self.count,
            self.nulls,
            len(present),
            mean=self.trues / self.count if self.count else None,
            top=top,
        )
        return self._schema(present), profile


class _String(_Column):
    """large_string columns: exact extremes, value counts (bounded), distinct."""

    def __init__(self, name: str, arrow_type: pa.DataType) -> None:
        super().__init__(name, arrow_type)
        self.low: str | None = None
        self.high: str | None = None
        self.counts = HeavyHitters()
        self.distinct = DistinctSketch()

    def _update(self, values: pa.Array) -> None:
        distinct, counts = value_counts(values)
        extremes = pc.min_max(distinct)
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        self.counts.add(distinct, counts)
        self.distinct.add(hash_strings(distinct))

    def finish(self, sample: RowSample) -> tuple[ColumnSchema, ColumnProfile]:
        exact = self.counts.exact
        distinct = len(self.counts.counts) if exact else self.distinct.estimate()
        domain = sorted(self.counts.values.to_pylist()) if exact and distinct <= DOMAIN_CAP else None
        top = [[value, count] for value, count in self.counts.top(TOP_K)]
        profile = ColumnProfile(self.name, self.logical, self.count, self.nulls, distinct, self.low, self.high, top=top)
        return self._schema(domain, self.low, self.high), profile


def _accumulator(name: str, arrow_type: pa.DataType) -> _Column:
    kind = logical_type(arrow_type)
    if kind in NUMERIC:
        return _Numeric(name, arrow_type)
    if kind in ("datetime", "date"):
        return _Temporal(name, arrow_type)
    if kind == "boolean":
        return _Boolean(name, arrow_type)
    return _String(name, arrow_type)


def _number(value: Any) -> float | None:
    """A JSON-safe extreme: ints stay exact ints, infinite floats become ``None``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value  # type: ignore[no-any-return]
