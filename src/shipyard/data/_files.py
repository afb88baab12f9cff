"""Streaming readers for file sources: Parquet files (or a folder of them) and CSV, ``batch_rows`` at a time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data.tables import ACCEPTED_STREAMING, canonical_batch, canonical_schema

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def open_file_source(path: Path, batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The canonical schema of the file(s) at ``path`` and a lazy iterator over their canonical batches."""
    name = path.name.lower()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file())
        if not files:
            raise InvalidInput(f"The folder {str(path)!r} holds no .parquet files; a folder source needs some.")
        return _parquet(files, batch_rows)
    if not path.exists():
        raise InvalidInput(f"No file or folder at {str(path)!r}; check the path.")
    if name.endswith(PARQUET_SUFFIXES):
        return _parquet([path], batch_rows)
    if name.endswith(CSV_SUFFIXES):
        return _csv(path, batch_rows)
    raise InvalidInput(f"A dataset is made from {ACCEPTED_STREAMING}; got the file {str(path)!r}.")


def _parquet(files: list[Path], batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    opened = []
    for file in files:
        try:
            opened.append(pq.ParquetFile(file))
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"{str(file)!r} is not a readable Parquet file: {exc}") from exc
    columns = data_columns(opened[0].schema_arrow)
    schema = canonical_schema(pa.schema([opened[0].schema_arrow.field(c) for c in columns]))
    for file, parquet in zip(files[1:], opened[1:], strict=True):
        other = canonical_schema(pa.schema([parquet.schema_arrow.field(c) for c in data_columns(parquet.schema_arrow)]))
        if other != schema:
            raise InvalidInput(
                f"All Parquet files of a folder need the same columns and types; {str(file)!r} has "
                f"{_describe(other)} but {str(files[0])!r} has {_describe(schema)}."
            )
    if sum(p.metadata.num_rows for p in opened) == 0:
        raise InvalidInput("A dataset version needs at least one row; the Parquet file(s) have none.")

    def batches() -> Iterator[pa.RecordBatch]:
        for parquet in opened:
            names = data_columns(parquet.schema_arrow)
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=names):
                yield canonical_batch(batch, schema)

    return schema, batches()


def data_columns(schema: pa.Schema) -> list[str]:
    """The columns to read: all but the unnamed-index columns pandas adds (dropped, as for a DataFrame)."""
    index: set[str] = set()
    if schema.metadata and b"pandas" in schema.metadata:
        meta = json.loads(schema.metadata[b"pandas"])
        index = {c for c in meta.get("index_columns", []) if isinstance(c, str) and _PANDAS_INDEX.match(c)}
    return [name for name in schema.names if name not in index]


def _csv(path: Path, batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    # pyarrow infers column types from the first block; a block size of about batch_rows short rows keeps
    # batches near the requested size without reading the whole file.
    read_options = pacsv.ReadOptions(block_size=max(1 << 16, min(batch_rows * 64, 1 << 26)))
    try:
        reader = pacsv.open_csv(path, read_options=read_options)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{str(path)!r} could not be read as CSV: {exc}") from exc
    schema = canonical_schema(reader.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise InvalidInput(
                    f"{str(path)!r}: {exc}. Types are inferred from the start of a CSV file; a later value that "
                    "does not fit fails. Convert the file to Parquet with explicit types, or fix the value."
                ) from exc
            for start in range(0, batch.num_rows, batch_rows):
                yield canonical_batch(batch.slice(start, batch_rows), schema)

    return schema, batches()


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"
