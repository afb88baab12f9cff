"""The content digest of a canonical table: equal rows, columns and types give an equal digest.

The digest must not depend on how the rows happen to be chunked (a pandas frame converted whole, a Parquet
file read 65,536 rows at a time, a CSV file read by blocks), nor on bytes Arrow leaves undefined (what sits
under a null, buffer offsets and padding). So each column is hashed as a few byte *streams* whose bytes are
the same whatever the chunking; a sha256 fed chunk after chunk then sees one byte sequence:

- ``nulls``: the int64 row numbers (within the whole table) of the column's nulls; empty when it has none;
- ``values``: for int64, float64, timestamp and date32 columns the little-endian values, nulls as 0; for
  bool columns one byte (0 or 1) per row, nulls as 0; for strings the UTF-8 bytes of all values one after
  the other, nulls as empty strings;
- ``lengths``: for strings only, the int64 byte length of every value (so ``["ab", "c"]`` and
  ``["a", "bc"]`` differ).

The final digest is the sha256 of a version tag, the schema (names and canonical types, in order), the row
count, and every stream's sha256. Nothing is hashed per row in Python: the streams are Arrow buffers, or
numpy arrays built from them in one vectorised step.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.digests import PREFIX
from shipyard.core.errors import InvalidInput

VERSION_TAG = b"shipyard-table-digest-v1\n"

if sys.byteorder != "little":  # pragma: no cover - every platform Shipyard supports is little-endian
    raise ImportError("shipyard.data.digest hashes native buffers and needs a little-endian machine")


class TableHasher:
    """Feed canonical record batches in row order; ``hexdigest()`` is ``sha256:<hex>`` of their content.

    >>> hasher = TableHasher()
    >>> for batch in as_arrow(df).to_batches():
    ...     hasher.update(batch)
    >>> hasher.hexdigest()
    'sha256:…'

    ``schema`` may be given up front; otherwise the first batch's schema is used, and every later batch
    must have the same one.
    """

    def __init__(self, schema: pa.Schema | None = None) -> None:
        self._schema: pa.Schema | None = None
        self._rows = 0
        self._streams: list[dict[str, hashlib._Hash]] = []
        if schema is not None:
            self._start(schema)

    @property
    def rows(self) -> int:
        return self._rows

    def update(self, batch: pa.RecordBatch) -> None:
        """Hash the next ``batch`` rows; ``batch`` must have the schema of the ones before it."""
        if self._schema is None:
            self._start(batch.schema)
        elif not batch.schema.equals(self._schema):
            raise InvalidInput(
                f"TableHasher got a batch with schema {batch.schema}, after batches with {self._schema}."
            )
        for column, streams in zip(batch.columns, self._streams, strict=True):
            _hash_column(column, self._rows, streams)
        self._rows += batch.num_rows

    def hexdigest(self) -> str:
        """``sha256:<hex>`` of everything fed so far (the hasher can still be fed afterwards)."""
        final = hashlib.sha256(VERSION_TAG)
        schema = self._schema if self._schema is not None else pa.schema([])
        header = {"columns": [[f.name, str(f.type)] for f in schema], "rows": self._rows}
        final.update(json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode())
        for streams in self._streams:
            for name in sorted(streams):
                final.update(f"\n{name}:{streams[name].hexdigest()}".encode())
        return PREFIX + final.hexdigest()

    def _start(self, schema: pa.Schema) -> None:
        self._schema = schema
        self._streams = []
        for field in schema:
            names = ["nulls", "values"] + (["lengths"] if pa.types.is_large_string(field.type) else [])
            self._streams.append({name: hashlib.sha256() for name in names})


def _hash_column(column: pa.Array, first_row: int, streams: dict[str, hashlib._Hash]) -> None:
    if column.null_count:
        is_null = column.is_null().to_numpy(zero_copy_only=False)
        streams["nulls"].update((np.flatnonzero(is_null).astype(np.int64) + first_row).data)
        column = pc.fill_null(column, "" if pa.types.is_large_string(column.type) else _zero(column.type))
    kind = column.type
    if pa.types.is_large_string(kind):
        buffers = column.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int64, count=len(column) + 1, offset=column.offset * 8)
        streams["lengths"].update(np.diff(offsets).data)
        if buffers[2] is not None:
            streams["values"].update(memoryview(buffers[2])[offsets[0] : offsets[-1]])
    elif pa.types.is_boolean(kind):
        streams["values"].update(column.to_numpy(zero_copy_only=False).view(np.uint8).data)
    else:
        width = kind.bit_width // 8
        start = column.offset * width
        streams["values"].update(memoryview(column.buffers()[1])[start : start + len(column) * width])


def _zero(kind: pa.DataType) -> pa.Scalar:
    if pa.types.is_boolean(kind):
        return pa.scalar(False)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pa.scalar(0, pa.int64()).cast(kind)
    return pa.scalar(0, kind)
