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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data.summary import column_logical_type, numeric_values
from shipyard.monitoring._reference_build import GRID, SAMPLE_ROWS, TOP_VALUES, build_batches, build_table
from shipyard.monitoring._reference_columns import (
    CATEGORICAL_TYPES,
    NUMERIC_TYPES,
    CategoricalReference,
    ColumnReference,
    NumericReference,
    finite_or_none,
)

__all__ = [
    "GRID",
    "REFERENCE_FORMAT",
    "SAMPLE_ROWS",
    "TOP_VALUES",
    "CategoricalReference",
    "ColumnReference",
    "NumericReference",
    "Reference",
    "column_logical_type",
    "numeric_values",
]

REFERENCE_FORMAT = 1
_MAGIC = b"SHIPYARD-REFERENCE\n"


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
            rows, built = build_table(source, columns)
        elif isinstance(source, Iterable):
            rows, built = build_batches(iter(source), columns)
        else:
            raise InvalidInput(
                f"A reference is built from a pyarrow Table or an iterable of RecordBatches; got "
                f"{type(source).__name__}. Convert other tables with shipyard.data.tables.as_arrow first."
            )
        return cls(rows=rows, columns=built)

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
                    mean=finite_or_none(column.mean),
                    std=finite_or_none(column.std),
                    minimum=finite_or_none(column.minimum),
                    maximum=finite_or_none(column.maximum),
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
