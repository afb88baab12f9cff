"""File sources (Parquet, a folder of Parquet files, CSV) are streamed batch by batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.data.sources import iter_canonical_batches
from shipyard.data.tables import as_arrow


def read_all(source: object, batch_rows: int = 65_536) -> pa.Table:
    schema, batches = iter_canonical_batches(source, batch_rows)
    return pa.Table.from_batches(list(batches), schema=schema)


def test_parquet_file_reads_as_the_frame(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "f.parquet")
    assert read_all(tmp_path / "f.parquet").equals(as_arrow(frame))


def test_pandas_index_columns_in_parquet_are_dropped_like_the_frames(tmp_path: Path) -> None:
    filtered = pd.DataFrame({"x": [1, 2, 3]})[lambda d: d.x > 1]
    filtered.to_parquet(tmp_path / "f.parquet")  # stores the unnamed index as __index_level_0__
    assert read_all(str(tmp_path / "f.parquet")).column_names == ["x"]


def test_folder_of_parquet_files_is_read_in_name_order(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [3, 4]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"x": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    assert read_all(tmp_path).column("x").to_pylist() == [1, 2, 3, 4]


def test_folder_files_must_agree_on_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"y": [1]}), tmp_path / "b.parquet")
    with pytest.raises(InvalidInput, match=r"b\.parquet"):
        iter_canonical_batches(tmp_path)


def test_csv_file_reads_as_the_frame(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "x": [0.1, 2.5, -1e-9], "s": ["a", "b", "c"], "b": [True, False, True]})
    df.to_csv(tmp_path / "f.csv", index=False)
    assert read_all(tmp_path / "f.csv").equals(as_arrow(df))


def test_csv_value_that_does_not_fit_the_inferred_type_is_reported(tmp_path: Path) -> None:
    rows = "\n".join(["n"] + [str(i) for i in range(20_000)] + ["oops"])
    (tmp_path / "f.csv").write_text(rows)
    _, batches = iter_canonical_batches(tmp_path / "f.csv", batch_rows=1000)
    with pytest.raises(InvalidInput, match="oops"):
        list(batches)


def test_a_csv_file_that_is_not_utf8_is_named_with_its_column_a_value_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes("name,n\ntea,2\ncafé,1\n".encode("latin-1"))
    with pytest.raises(
        InvalidInput,
        match=r"latin\.csv' is not UTF-8: column 'name' holds b'caf\\xe9' \(row 2, not counting the header\).*iconv",
    ):
        iter_canonical_batches(tmp_path / "latin.csv")


def test_a_csv_file_that_is_not_utf8_past_its_first_block_or_in_its_header_is_named(tmp_path: Path) -> None:
    (tmp_path / "late.csv").write_bytes(("name,n\n" + "tea,2\n" * 20_000 + "café,1\n").encode("latin-1"))
    _, batches = iter_canonical_batches(tmp_path / "late.csv", batch_rows=1000)
    with pytest.raises(InvalidInput, match=r"late\.csv' is not UTF-8.*Re-encode it as UTF-8"):
        list(batches)
    (tmp_path / "header.csv").write_bytes("näme,n\ncafe,1\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"header\.csv' is not UTF-8: its header .*Re-encode it as UTF-8"):
        iter_canonical_batches(tmp_path / "header.csv")


def test_empty_files_and_unknown_paths_are_rejected(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": pa.array([], pa.int64())}), tmp_path / "empty.parquet")
    with pytest.raises(InvalidInput, match="at least one row"):
        iter_canonical_batches(tmp_path / "empty.parquet")
    (tmp_path / "header.csv").write_text("x\n")
    with pytest.raises(InvalidInput):
        list(iter_canonical_batches(tmp_path / "header.csv")[1])
    with pytest.raises(InvalidInput, match="No file or folder"):
        iter_canonical_batches(tmp_path / "missing.parquet")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InvalidInput, match=r"\.parquet file"):
        iter_canonical_batches(tmp_path / "notes.txt")


def test_parquet_is_streamed_in_batches_with_bounded_memory(tmp_path: Path, arrow_pool: pa.MemoryPool) -> None:
    rows = 600_000  # 4.8 MB per column, 19 MB in all
    columns = {f"c{i}": np.random.default_rng(i).normal(size=rows) for i in range(4)}
    pq.write_table(pa.table(columns), tmp_path / "big.parquet", row_group_size=50_000)
    _, batches = iter_canonical_batches(tmp_path / "big.parquet", batch_rows=10_000)
    sizes = [batch.num_rows for batch in batches]
    assert len(sizes) == 60 and sum(sizes) == rows
    assert arrow_pool.max_memory() < 4_000_000  # a row group and a batch or two, never the file
