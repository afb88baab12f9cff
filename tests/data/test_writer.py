"""Writing a dataset version: one canonical Parquet file, digest, schema and profile in one pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.data import writer
from shipyard.data.digest import TableHasher
from shipyard.data.tables import as_arrow
from shipyard.data.writer import read_dataset, write_canonical_parquet


def test_round_trip_reads_back_the_canonical_table(frame: pd.DataFrame, tmp_path: Path) -> None:
    written = write_canonical_parquet(frame, tmp_path)
    assert written.path == tmp_path / "data.parquet" and written.size_bytes == written.path.stat().st_size
    assert read_dataset(written.path).equals(as_arrow(frame))
    assert written.rows == 1000 and written.schema.names == list(frame.columns)
    assert written.profile.rows == 1000 and written.profile.column("id").max == 999


def test_digest_is_the_content_digest(frame: pd.DataFrame, tmp_path: Path) -> None:
    hasher = TableHasher()
    for batch in as_arrow(frame).to_batches():
        hasher.update(batch)
    assert write_canonical_parquet(frame, tmp_path).digest == hasher.hexdigest()


def test_equal_content_writes_equal_bytes(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "source.parquet", row_group_size=77)
    a = write_canonical_parquet(pl.from_pandas(frame), tmp_path / "a")
    b = write_canonical_parquet(tmp_path / "source.parquet", tmp_path / "b", batch_rows=50)
    assert a.digest == b.digest
    assert a.path.read_bytes() == b.path.read_bytes()


def test_file_source_is_streamed_through_fixed_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow_pool: pa.MemoryPool
) -> None:
    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 25_000)
    rows = 600_000  # 19 MB of floats
    columns = {f"c{i}": np.random.default_rng(i).normal(size=rows) for i in range(4)}
    pq.write_table(pa.table(columns), tmp_path / "big.parquet", row_group_size=40_000)
    written = write_canonical_parquet(tmp_path / "big.parquet", tmp_path / "out", batch_rows=10_000)
    assert pq.ParquetFile(written.path).metadata.num_row_groups == 24
    assert arrow_pool.max_memory() < 10_000_000  # a few row groups of 0.8 MB and the writer's buffers
    assert written.profile.column("c0").histogram is not None
    assert written.profile.column("c0").mean == pytest.approx(columns["c0"].mean())


def test_bad_source_leaves_no_file_behind(tmp_path: Path) -> None:
    rows = "\n".join(["n"] + [str(i) for i in range(200_000)] + ["oops"])
    (tmp_path / "f.csv").write_text(rows)
    with pytest.raises(InvalidInput, match="oops"):
        write_canonical_parquet(tmp_path / "f.csv", tmp_path / "out", batch_rows=10_000)
    assert list((tmp_path / "out").iterdir()) == []


def test_writing_again_replaces_the_file(tmp_path: Path) -> None:
    write_canonical_parquet({"x": [1, 2]}, tmp_path)
    written = write_canonical_parquet({"x": [3]}, tmp_path)
    assert read_dataset(written.path).column("x").to_pylist() == [3]
    assert [p.name for p in tmp_path.iterdir()] == ["data.parquet"]


def test_read_dataset_rejects_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_text("nope")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        read_dataset(tmp_path / "x.parquet")
