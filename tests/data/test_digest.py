"""The content digest: same rows, columns and types give the same digest, whatever the source or chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.data.digest import TableHasher
from shipyard.data.sources import iter_canonical_batches
from shipyard.data.tables import as_arrow

from .conftest import as_records


def digest(source: object, batch_rows: int = 65_536) -> str:
    schema, batches = iter_canonical_batches(source, batch_rows)
    hasher = TableHasher(schema)
    for batch in batches:
        hasher.update(batch)
    return hasher.hexdigest()


def test_same_data_from_every_source_has_one_digest(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "f.parquet")
    expected = digest(frame)
    assert digest(pl.from_pandas(frame)) == expected
    assert digest(pa.Table.from_pandas(frame)) == expected
    assert digest(tmp_path / "f.parquet") == expected
    assert digest(as_records(frame)) == expected
    assert expected.startswith("sha256:") and len(expected) == 71


def test_csv_and_dict_sources_agree(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "x": [0.1, 2.5, None], "s": ["a", "bc", ""]})
    df.to_csv(tmp_path / "f.csv", index=False)
    assert digest(tmp_path / "f.csv") == digest({"n": [1, 2, 3], "x": [0.1, 2.5, None], "s": ["a", "bc", ""]})


@pytest.mark.parametrize("batch_rows", [1, 7, 333, 1000])
def test_chunking_does_not_change_the_digest(frame: pd.DataFrame, batch_rows: int) -> None:
    assert digest(frame, batch_rows) == digest(frame)


def test_unaligned_slices_hash_like_the_whole(frame: pd.DataFrame) -> None:
    table = as_arrow(frame)
    hasher = TableHasher()
    for start, stop in [(0, 3), (3, 11), (11, 500), (500, 1000)]:
        hasher.update(table.slice(start, stop - start).combine_chunks().to_batches()[0])
    assert hasher.hexdigest() == digest(frame)


def test_any_change_changes_the_digest(frame: pd.DataFrame) -> None:
    base = digest(frame)
    changed_value = frame.copy()
    changed_value.loc[500, "score"] += 1e-12
    changed_string = frame.copy()
    changed_string["tier"] = changed_string["tier"].astype(str).str.replace("gold", "gol")
    changed_type = frame.assign(id=frame["id"].astype(float))
    reordered_columns = frame[list(reversed(frame.columns))]
    reordered_rows = frame.iloc[::-1]
    renamed = frame.rename(columns={"id": "key"})
    variants = [changed_value, changed_string, changed_type, reordered_columns, reordered_rows, renamed, frame[:-1]]
    digests = {digest(v) for v in variants}
    assert base not in digests and len(digests) == len(variants)


def test_nulls_differ_from_zeros_and_empty_strings() -> None:
    assert digest({"x": [0, 1]}) != digest({"x": [None, 1]})
    assert digest({"s": ["", "a"]}) != digest({"s": [None, "a"]})
    assert digest({"b": [False, True]}) != digest({"b": [None, True]})


def test_string_boundaries_matter() -> None:
    assert digest({"s": ["ab", "c"]}) != digest({"s": ["a", "bc"]})


def test_values_under_nulls_are_ignored() -> None:
    # Arrow leaves what sits under a null undefined; build two arrays that differ only there.
    data = pa.py_buffer(np.array([7, 1], dtype=np.int64).tobytes())
    other = pa.py_buffer(np.array([9, 1], dtype=np.int64).tobytes())
    validity = pa.py_buffer(bytes([0b10]))
    a = pa.Array.from_buffers(pa.int64(), 2, [validity, data], null_count=1)
    b = pa.Array.from_buffers(pa.int64(), 2, [validity, other], null_count=1)
    assert digest(pa.table({"x": a})) == digest(pa.table({"x": b}))


def test_a_batch_with_another_schema_is_refused() -> None:
    hasher = TableHasher()
    hasher.update(pa.record_batch({"x": pa.array([1], pa.int64())}))
    with pytest.raises(InvalidInput, match="schema"):
        hasher.update(pa.record_batch({"x": pa.array([1.0])}))
