"""Sources as canonical record batches: in-memory tables converted whole, files streamed in bounded memory.

``iter_canonical_batches`` is where the two kinds of source meet: ``tables`` converts in-memory ones, and
``_files`` reads Parquet and CSV files ``batch_rows`` at a time (pyarrow's readers imported only then).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data.tables import as_arrow


def iter_canonical_batches(source: object, batch_rows: int = 65_536) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The canonical schema, and the canonical data as record batches of at most ``batch_rows`` rows.

    Files (``str`` or ``Path``) are read ``batch_rows`` at a time, so memory stays bounded whatever their size;
    in-memory sources are converted whole and then sliced without copying. The iterator raises
    ``InvalidInput`` if it ends without a single row (a CSV file's row count is only known at its end).
    """
    if batch_rows < 1:
        raise InvalidInput(f"batch_rows must be a positive number of rows; got {batch_rows}.")
    if isinstance(source, str | Path):
        from shipyard.data._files import open_file_source

        schema, batches = open_file_source(Path(source), batch_rows)
        return schema, _require_rows(batches)
    table = as_arrow(source)
    return table.schema, iter(table.to_batches(max_chunksize=batch_rows))


def _require_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        if batch.num_rows:
            yield batch
    if rows == 0:
        raise InvalidInput("A dataset version needs at least one row; the source has none.")


__all__ = ["iter_canonical_batches"]
