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
        names = reader.schema.names  # decoded as UTF-8 here, not by pyarrow
    except UnicodeDecodeError as exc:
        bad = exc.object[max(exc.start - 10, 0) : exc.end + 10]
        raise InvalidInput(_not_utf8(path, f"its header holds {bad!r}, which is not")) from exc
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{str(path)!r} could not be read as CSV: {exc}") from exc
    # pyarrow reads a column as bytes when a value of it is not valid UTF-8 text (CSV has no binary type).
    binary = [n for n, t in zip(names, reader.schema.types, strict=True) if pa.types.is_binary(t)]
    if binary:
        raise InvalidInput(_not_utf8(path, _first_undecodable(reader, binary[0])))
    schema = canonical_schema(reader.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                if "invalid UTF8" in str(exc):  # a later block, past the one the types were inferred from
                    found = _COLUMN.search(str(exc))
                    column = names[int(found[1])] if found else None
                    raise InvalidInput(
                        _not_utf8(path, f"column {column!r} holds text that is not" if column else "it holds text")
                    ) from exc
                raise InvalidInput(
                    f"{str(path)!r}: {exc}. Types are inferred from the start of a CSV file; a later value that "
                    "does not fit fails. Convert the file to Parquet with explicit types, or fix the value."
                ) from exc
            for start in range(0, batch.num_rows, batch_rows):
                yield canonical_batch(batch.slice(start, batch_rows), schema)

    return schema, batches()


_COLUMN = re.compile(r"CSV column #(\d+)")


def _first_undecodable(reader: pacsv.CSVStreamingReader, column: str) -> str:
    """'column 'name' holds b'caf\\xe9' (row 2 …)': the first value of ``column`` that is not UTF-8."""
    try:
        values = reader.read_next_batch().column(column).to_pylist()
    except (StopIteration, pa.ArrowException):
        return f"column {column!r} holds text that is not"
    for row, value in enumerate(values, start=1):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return f"column {column!r} holds {value!r} (row {row}, not counting the header), which is not"
    return f"column {column!r} holds text that is not"


def _not_utf8(path: Path, what: str) -> str:
    """The message for a CSV file that is not UTF-8; ``what`` names the column or header and the value."""
    return (
        f"{str(path)!r} is not UTF-8: {what} valid UTF-8 text. Shipyard reads CSV files as UTF-8. Re-encode it "
        f"as UTF-8 (e.g. `iconv -f latin1 -t utf-8 {path.name} > utf8-{path.name}` for a Latin-1 file), or read "
        "it with its encoding (pandas: pd.read_csv(path, encoding='latin-1')) and register the DataFrame."
    )


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"
