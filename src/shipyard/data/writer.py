"""Write a dataset version: one canonical Parquet file, its content digest, schema and profile, in one pass.

The source is converted to canonical batches (``shipyard.data.tables``) that are written, hashed and
profiled as they go by, so the rows are read once. While a worker thread encodes one row group into Parquet
(pyarrow releases the GIL), the calling thread hashes and profiles the same rows.

The file's bytes are deterministic for the same content and pyarrow version: fixed writer options and row
groups of exactly ``ROW_GROUP_ROWS`` rows (the last one shorter), whatever the chunking of the source.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.data.digest import TableHasher
from shipyard.data.profile import Profiler, logical_type, numeric_batches, numeric_ranges
from shipyard.data.schema import DatasetProfile, DatasetSchema
from shipyard.data.sources import iter_canonical_batches
from shipyard.data.tables import as_arrow, canonical_schema

FILE_NAME = "data.parquet"
ROW_GROUP_ROWS = 1 << 18
BATCH_ROWS = 1 << 16
# Fixed, so that equal content gives equal bytes. Dictionary encoding for all but float columns: floats rarely
# repeat, so the writer would build a dictionary only to abandon it, which costs time for no smaller file.
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
PARQUET_VERSION = "2.6"


@dataclass(frozen=True)
class WrittenDataset:
    """A canonical Parquet file and what was learnt while writing it.

    ``digest`` is the content digest (``TableHasher``: same rows, columns and types, same digest, whatever
    the source); ``size_bytes`` is the file's size.
    """

    path: Path
    digest: str
    schema: DatasetSchema
    profile: DatasetProfile
    rows: int
    size_bytes: int


def write_canonical_parquet(source: object, dest_folder: Path, *, batch_rows: int = BATCH_ROWS) -> WrittenDataset:
    """Write ``source`` as ``dest_folder/data.parquet`` (replacing one there) and describe it.

    ``source`` is anything ``iter_canonical_batches`` takes. File sources are streamed ``batch_rows`` rows at
    a time (memory stays bounded by a row group, whatever the file's size) and the histograms come from a
    second read of the written file's numeric columns; in-memory sources are converted whole, and their
    exact extremes, found first, let the histograms be counted in the one pass. The file appears only once
    complete: a failure leaves no partial file.

    >>> written = write_canonical_parquet(df, Path("out"))
    >>> written.digest, written.rows, written.profile.column("age").mean
    """
    dest_folder = Path(dest_folder)
    dest_folder.mkdir(parents=True, exist_ok=True)
    path = dest_folder / FILE_NAME
    temp = dest_folder / f".{FILE_NAME}.{uuid.uuid4().hex[:12]}.part"
    if isinstance(source, str | os.PathLike):
        schema, batches = iter_canonical_batches(Path(source), batch_rows)
        groups: Iterable[pa.Table] = _regroup(batches, ROW_GROUP_ROWS)
        profiler = Profiler(schema)
    else:
        table = as_arrow(source)
        schema = table.schema
        groups = (table.slice(start, ROW_GROUP_ROWS) for start in range(0, table.num_rows, ROW_GROUP_ROWS))
        # The extremes of a table in memory cost one cheap pass: knowing them, the histograms are counted in
        # the same pass as everything else, with no second pass after the writing.
        profiler = Profiler(schema, ranges=numeric_ranges(table))
    hasher = TableHasher(schema)
    profiled: list[tuple[DatasetSchema, DatasetProfile]] = []
    try:
        _write(temp, schema, groups, hasher, profiler, lambda: profiled.append(profiler.finish()))
        if not profiled:
            parquet = pq.ParquetFile(temp)
            for batch in numeric_batches(parquet, batch_rows):
                profiler.update_histograms(batch)
            parquet.close()
            profiled.append(profiler.finish())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    (dataset_schema, profile) = profiled[0]
    return WrittenDataset(path, hasher.hexdigest(), dataset_schema, profile, profiler.rows, path.stat().st_size)


def read_dataset(path: str | Path) -> pa.Table:
    """Read a canonical Parquet file (as ``write_canonical_parquet`` writes) back as a canonical Arrow table."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a readable Parquet file: {exc}") from exc
    # The file stores its Arrow schema, so this is a no-op for our files; it also canonicalises others.
    return table.cast(canonical_schema(table.schema)).replace_schema_metadata(None)


def _write(
    temp: Path,
    schema: pa.Schema,
    groups: Iterable[pa.Table],
    hasher: TableHasher,
    profiler: Profiler,
    finish: Callable[[], None],
) -> None:
    """Write ``groups`` as row groups in a worker thread while this thread hashes and profiles them.

    ``finish`` is called when the profile needs no second pass, while the last row group is still written.
    """
    options: dict[str, Any] = {
        "compression": COMPRESSION,
        "compression_level": COMPRESSION_LEVEL,
        "use_dictionary": [f.name for f in schema if logical_type(f.type) != "float"],
        "version": PARQUET_VERSION,
        "write_statistics": True,
        "store_schema": True,
    }
    pending: Future[None] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="shipyard-parquet") as pool:
        writer = pq.ParquetWriter(temp, schema, **options)
        try:
            for group in groups:
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, group, row_group_size=ROW_GROUP_ROWS)
                # Whole row groups: numpy and Arrow kernels are most efficient on these (measured against
                # 32k-128k-row batches, which lose more to per-call overhead than they gain in cache hits).
                for batch in group.to_batches():
                    hasher.update(batch)
                    profiler.update(batch)
            if not profiler.needs_histogram_pass:
                finish()
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                pending.exception()  # never close the writer under a write still running in the worker
            writer.close()


def _regroup(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter), each column in one contiguous chunk.

    Parquet page boundaries can follow Arrow chunk boundaries, so contiguous row groups of a fixed size make
    the file's bytes independent of how the source happened to be chunked.
    """
    buffered: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        buffered.append(batch)
        count += batch.num_rows
        while count >= rows:
            joined = pa.Table.from_batches(buffered)
            yield joined.slice(0, rows).combine_chunks()
            rest = joined.slice(rows)
            buffered, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(buffered, schema=buffered[0].schema).combine_chunks()
