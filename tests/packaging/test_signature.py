"""Signatures: inferred from pandas / polars / Arrow, and every input checked against them in one message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.packaging import ColumnSpec, Signature, SignatureMismatch, infer_signature, validate_input
from shipyard.packaging.signature import pandas_fast_path

SIG = Signature(
    (ColumnSpec("age", "integer"), ColumnSpec("income", "float", nullable=True), ColumnSpec("city", "string")),
    output="integer",
)


def test_inferred_from_pandas_with_output_type_and_nullability() -> None:
    frame = pd.DataFrame({"age": [30, 40], "income": [1.5, np.nan], "city": ["oslo", "lima"], "vip": [True, False]})
    sig = infer_signature(frame, np.array([0.1, 0.2]))
    assert sig.inputs == (
        ColumnSpec("age", "integer"),
        ColumnSpec("income", "float", nullable=True),
        ColumnSpec("city", "string"),
        ColumnSpec("vip", "boolean"),
    )
    assert (sig.output, sig.output_shape) == ("float", ())


def test_inferred_from_arrow_types_of_any_width() -> None:
    table = pa.table(
        {
            "i": pa.array([1], pa.int16()),
            "f": pa.array([1.0], pa.float32()),
            "s": pa.array(["x"]).dictionary_encode(),  # a categorical
            "t": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns")),
            "d": pa.array([dt.date(2024, 1, 1)]),
        }
    )
    assert [c.type for c in infer_signature(table).inputs] == ["integer", "float", "string", "datetime", "date"]


def test_output_of_class_labels_and_of_multi_output_models() -> None:
    assert infer_signature({"a": [1]}, np.array(["yes"], dtype=object)).output == "string"
    sig = infer_signature({"a": [1, 2]}, np.zeros((2, 3)))
    assert (sig.output, sig.output_shape) == ("float", (3,))


def test_unsupported_column_types_are_named_in_one_message() -> None:
    table = pa.table({"ok": [1], "blob": pa.array([b"x"]), "tags": pa.array([["a"]])})
    with pytest.raises(InvalidInput, match=r"'blob'.*\n.*'tags'"):
        infer_signature(table)


def test_round_trips_through_a_dict() -> None:
    assert Signature.from_dict(SIG.to_dict()) == SIG


def test_a_bad_type_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be one of integer, float"):
        ColumnSpec("x", "int")


def test_valid_input_comes_back_in_signature_order_and_types() -> None:
    table = validate_input({"city": ["oslo"], "income": [3], "age": [30.0]}, SIG)
    assert table.column_names == ["age", "income", "city"]
    assert table.schema.types == [pa.int64(), pa.float64(), pa.large_string()]
    assert table.to_pylist() == [{"age": 30, "income": 3.0, "city": "oslo"}]


def test_every_offending_column_is_named_at_once() -> None:
    with pytest.raises(SignatureMismatch) as err:
        validate_input({"age": ["thirty"], "income": [1.0], "zip": ["0150"]}, SIG)
    assert err.value.problems == {
        "zip": "is not an input of this model",
        "age": "expected integer, got string",
        "city": "is missing (expected string)",
    }
    assert "3 problems" in str(err.value) and "age (integer), income (float, nullable), city (string)" in str(err.value)


def test_float_with_fractions_does_not_feed_an_integer() -> None:
    with pytest.raises(
        SignatureMismatch, match=r"'age': expected integer, got float with fractional values \(e.g. 30.5\)"
    ):
        validate_input({"age": [30.0, 30.5], "income": [1.0, 2.0], "city": ["a", "b"]}, SIG)


def test_string_does_not_feed_a_number() -> None:
    with pytest.raises(SignatureMismatch, match="'income': expected float, got string"):
        validate_input({"age": [30], "income": ["1.0"], "city": ["a"]}, SIG)


def test_nulls_only_where_the_signature_allows_them() -> None:
    frame = pd.DataFrame({"age": [30, None], "income": [np.nan, 2.0], "city": ["a", None]})
    with pytest.raises(SignatureMismatch) as err:
        validate_input(frame, SIG)
    assert set(err.value.problems) == {"age", "city"}  # income is nullable
    assert "not nullable" in err.value.problems["age"]


def test_nan_counts_as_missing_in_a_non_nullable_float() -> None:
    sig = Signature((ColumnSpec("x", "float"),))
    with pytest.raises(SignatureMismatch, match="'x': has 1 null or NaN"):
        validate_input(pa.table({"x": pa.array([1.0, float("nan")])}), sig)


def test_a_typed_null_in_a_nullable_column_is_accepted() -> None:
    frame = pd.DataFrame({"age": [30], "income": pd.Series([None], dtype="float64"), "city": ["a"]})
    assert validate_input(frame, SIG).column("income").null_count == 1


def test_a_one_row_request_with_a_null_in_a_nullable_column_is_accepted() -> None:
    assert validate_input([{"age": 30, "income": None, "city": "a"}], SIG).num_rows == 1


def plain_frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [30, 41], "income": [1.5, np.nan], "city": ["a", "b"]})


def test_a_plain_pandas_frame_takes_the_fast_path_in_any_column_order() -> None:
    frame = plain_frame()[["city", "age", "income"]]
    assert pandas_fast_path(frame, SIG) is frame


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(extra=1),  # an unexpected column
        lambda f: f.drop(columns="city"),  # a missing one
        lambda f: f.assign(age=f["age"].astype("float64")),  # a type the canonical form would convert
        lambda f: f.assign(city=[1, 2]),  # numbers where strings belong
        lambda f: f.iloc[0:0],  # no rows
    ],
)
def test_anything_less_plain_goes_through_full_validation(change: Any) -> None:
    assert pandas_fast_path(change(plain_frame()), SIG) is None


def test_non_frames_never_take_the_fast_path() -> None:
    assert pandas_fast_path({"age": [1], "income": [1.0], "city": ["a"]}, SIG) is None
    assert pandas_fast_path(pa.table(plain_frame()), SIG) is None
