"""Canonical conversion: one Arrow type per kind, whatever the source, and clear errors for the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.data.sources import iter_canonical_batches
from shipyard.data.tables import as_arrow

CANONICAL = pa.schema(
    [
        ("id", pa.int64()),
        ("score", pa.float64()),
        ("flag", pa.bool_()),
        ("city", pa.large_string()),
        ("tier", pa.large_string()),
        ("seen", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
    ]
)


def test_pandas_frame_becomes_the_canonical_schema(frame: pd.DataFrame) -> None:
    table = as_arrow(frame)
    assert table.schema == CANONICAL
    assert table.schema.metadata is None


def test_polars_and_arrow_sources_give_the_same_table(frame: pd.DataFrame) -> None:
    expected = as_arrow(frame)
    assert as_arrow(pl.from_pandas(frame)).equals(expected)
    assert as_arrow(pa.Table.from_pandas(frame)).equals(expected)
    assert as_arrow(pa.Table.from_pandas(frame).to_batches()[0]).equals(expected)


def test_dicts_and_rows_are_accepted() -> None:
    by_column = as_arrow({"x": [1, 2], "s": ["a", None], "v": np.array([0.5, 1.5], dtype=np.float32)})
    by_row = as_arrow([{"x": 1, "s": "a", "v": 0.5}, {"x": 2, "v": 1.5}])
    assert by_column.equals(by_row)
    assert by_column.schema.types == [pa.int64(), pa.large_string(), pa.float64()]


def test_a_key_first_seen_in_a_later_row_is_kept() -> None:
    assert as_arrow([{"a": 1}, {"a": 2, "b": "x"}]).column("b").to_pylist() == [None, "x"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pa.array([1, 2], pa.int8()), pa.int64()),
        (pa.array([1, 2], pa.uint32()), pa.int64()),
        (pa.array([1.5], pa.float16()), pa.float64()),
        (pa.array(["a"], pa.string_view()), pa.large_string()),
        (pa.array(["a", "b", "a"]).dictionary_encode(), pa.large_string()),
        (pa.array([1, 2], pa.timestamp("s")), pa.timestamp("us")),
        (pa.array([1000, 2000], pa.timestamp("ns", tz="Europe/Paris")), pa.timestamp("us", tz="UTC")),
        (pa.array([86_400_000], pa.date64()), pa.date32()),
    ],
)
def test_every_kind_has_one_canonical_type(values: pa.Array, expected: pa.DataType) -> None:
    assert as_arrow(pa.table({"c": values})).schema.field("c").type == expected


def test_tz_aware_timestamps_keep_their_instant() -> None:
    paris = pd.DataFrame({"t": pd.to_datetime(["2024-06-01 12:00"]).tz_localize("Europe/Paris")})
    (value,) = as_arrow(paris).column("t").to_pylist()
    assert value.isoformat() == "2024-06-01T10:00:00+00:00"


def test_nan_becomes_null_so_pandas_and_polars_agree() -> None:
    from_pandas = as_arrow(pd.DataFrame({"x": [1.0, np.nan]}))
    from_polars = as_arrow(pl.DataFrame({"x": [1.0, None]}))
    from_arrow_nan = as_arrow(pa.table({"x": [1.0, float("nan")]}))
    assert from_pandas.equals(from_polars)
    assert from_arrow_nan.equals(from_polars)
    assert from_pandas.column("x").null_count == 1


def test_unnamed_index_is_dropped_and_named_index_becomes_a_column() -> None:
    filtered = pd.DataFrame({"x": [1, 2, 3]})[lambda d: d.x > 1]
    assert as_arrow(filtered).column_names == ["x"]
    named = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["a", "b"], name="key"))
    assert as_arrow(named).column_names == ["key", "x"]
    assert as_arrow(named).column("key").to_pylist() == ["a", "b"]


@pytest.mark.parametrize(
    ("source", "column"),
    [
        (pd.DataFrame({"meta": [{"k": 1}]}), "meta"),
        (pd.DataFrame({"tags": [[1, 2]]}), "tags"),
        (pa.table({"m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))}), "m"),
        (pd.DataFrame({"blank": [None, None]}), "blank"),
        (pd.DataFrame({"mixed": [1, "x"]}), "mixed"),
        (pd.DataFrame({"obj": [object()]}), "obj"),
        (pa.table({"raw": pa.array([b"\x00"])}), "raw"),
        (pa.table({"big": pa.array([2**64 - 1], pa.uint64())}), "big"),
        (pd.DataFrame({"ns": pd.to_datetime([1], unit="ns")}), "ns"),
        ({"a": [1], "b": [1, 2]}, "b"),
    ],
)
def test_bad_columns_are_named(source: Any, column: str) -> None:
    with pytest.raises(InvalidInput, match=repr(column)):
        as_arrow(source)


def test_duplicate_and_non_string_names_are_named() -> None:
    with pytest.raises(InvalidInput, match="repeated: 'a'"):
        as_arrow(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(InvalidInput, match="non-empty strings; got 0"):
        as_arrow(pd.DataFrame([[1]]))


def test_zero_rows_and_zero_columns_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="at least one row"):
        as_arrow(pd.DataFrame({"x": pd.Series([], dtype="int64")}))
    with pytest.raises(InvalidInput, match="at least one column"):
        as_arrow(pd.DataFrame(index=[0, 1]))
    with pytest.raises(InvalidInput, match="at least one row"):
        as_arrow([])


def test_other_objects_list_what_is_accepted() -> None:
    with pytest.raises(InvalidInput, match="pandas or polars DataFrame, a pyarrow Table"):
        as_arrow(42)


def test_in_memory_batches_are_slices_of_the_requested_size(frame: pd.DataFrame) -> None:
    schema, batches = iter_canonical_batches(frame, batch_rows=300)
    assert schema == CANONICAL
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]


def test_null_columns_can_be_kept_for_callers_that_cast_next() -> None:
    table = as_arrow([{"age": 30, "income": None}], keep_null_columns=True)
    assert table.schema.types == [pa.int64(), pa.null()]
    with pytest.raises(InvalidInput, match="'income' holds only nulls"):
        as_arrow([{"age": 30, "income": None}])
