"""Checking rows and feedback items: integers within 64 bits, labels of the kind the model predicts."""

from __future__ import annotations

import datetime as dt

import pytest

from shipyard.packaging.signature import ColumnSpec, Signature
from shipyard.serving.validation import (
    INT64_MAX,
    INT64_MIN,
    FeedbackInvalid,
    FeedbackItem,
    RequestInvalid,
    RowValidator,
    feedback_items,
    label_kind,
)

COUNTS = RowValidator(Signature((ColumnSpec("n", "integer"),)))


FLOATS = RowValidator(Signature((ColumnSpec("a", "float"), ColumnSpec("b", "float"))))


def test_rows_of_floats_come_out_as_columns_in_the_signature_order() -> None:
    batch = FLOATS.rows([{"b": 2.5, "a": -1.0}, {"a": 1e308, "b": 1e308}], max_rows=2)  # the sum overflows
    assert (batch.columns, batch.rows) == ({"a": [-1.0, 1e308], "b": [2.5, 1e308]}, 2)
    assert list(batch.columns) == ["a", "b"]


def test_ints_in_float_columns_become_floats_as_before() -> None:
    batch = FLOATS.rows([{"a": 1, "b": 2.0}], max_rows=1)
    assert batch.columns == {"a": [1.0], "b": [2.0]} and type(batch.columns["a"][0]) is float


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ({"a": 1.0, "b": 2.0, "c": 3.0}, "c", "is not an input of this model"),
        ({"a": 1.0}, "b", "is missing (expected float)"),
        ({"a": 1.0, "b": float("inf")}, "b", "expected a finite float, got inf"),
        ({"a": 1.0, "b": float("nan")}, "b", "expected a finite float, got nan"),
        ({"a": True, "b": 2.0}, "a", "expected float, got bool True"),
        ({"a": "0.5", "b": 2.0}, "a", "expected float, got str '0.5'"),
        ({"a": None, "b": 2.0}, "a", "is null, but the signature says it is not nullable"),
    ],
)
def test_a_row_of_floats_that_does_not_fit_names_its_field(row: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(RequestInvalid) as refused:
        FLOATS.rows([{"a": 0.0, "b": 0.0}, row], max_rows=2)
    assert refused.value.problems == [{"row": 1, "field": field, "problem": problem}]


def test_rows_that_are_not_objects_are_refused_by_row() -> None:
    with pytest.raises(RequestInvalid) as refused:
        FLOATS.rows([[1.0, 2.0], "ab"], max_rows=2)
    assert [p["row"] for p in refused.value.problems] == [0, 1]


@pytest.mark.parametrize("n", [INT64_MIN, INT64_MAX, float(INT64_MIN), 9.223372036854775e18, -0.0, 7.0])
def test_integers_within_64_bits_are_taken_as_ints(n: float) -> None:
    assert COUNTS.rows([{"n": n}], max_rows=1).columns["n"] == [int(n)]


@pytest.mark.parametrize("n", [INT64_MAX + 1, INT64_MIN - 1, 2.0**63, -(2.0**64), 1e300, 10**30])
def test_integers_beyond_64_bits_are_refused_with_the_range(n: float) -> None:
    with pytest.raises(RequestInvalid) as refused:
        COUNTS.columns({"n": [1, n]}, max_rows=2)
    assert refused.value.problems == [
        {
            "row": 1,
            "field": "n",
            "problem": f"expected integer, got {n!r}, which does not fit a 64-bit integer ({INT64_MIN} to {INT64_MAX})",
        }
    ]


def test_labels_follow_what_the_model_predicts() -> None:
    assert [label_kind(kind) for kind in ("integer", "float", "boolean", "string", None)] == [
        "number",
        "number",
        "number",
        "string",
        "any",
    ]
    assert feedback_items([{"request_id": "r", "label": "yes"}], labels="string", max_items=1) == [
        FeedbackItem("r", "yes", None)
    ]
    with pytest.raises(FeedbackInvalid, match=r"item 0, 'label' expected a string .*, got int 1"):
        feedback_items([{"request_id": "r", "label": 1}], labels="string", max_items=1)
    taken = feedback_items(
        [{"request_id": "r", "label": True}, {"request_id": "s", "label": "no"}], labels="any", max_items=2
    )
    assert taken == [FeedbackItem("r", 1.0, None), FeedbackItem("s", "no", None)]


def test_every_problem_of_every_item_is_listed_at_once() -> None:
    items = [{"request_id": "", "label": None, "row": -1}, "x", {"request_id": "ok", "label": "y" * 1001}]
    with pytest.raises(FeedbackInvalid) as refused:
        feedback_items(items, labels="any", max_items=3)
    assert [(p["item"], p["field"]) for p in refused.value.problems] == [
        (0, "request_id"),
        (0, "label"),
        (0, "row"),
        (1, "*"),
        (2, "label"),
    ]
    assert "more than the limit of 1,000" in refused.value.problems[-1]["problem"]


def test_times_from_an_arrow_or_parquet_body_are_taken_as_they_come() -> None:
    times = RowValidator(Signature((ColumnSpec("at", "datetime"), ColumnSpec("day", "date"))))
    at, day = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), dt.date(2026, 1, 2)
    batch = times.columns({"at": [at, "2026-01-02T03:04:00Z"], "day": [day, "2026-01-02"]}, max_rows=2)
    assert batch.columns == {"at": [at, at], "day": [day, day]}
    with pytest.raises(RequestInvalid, match="'day' expected date, got datetime"):
        times.columns({"at": [at], "day": [at]}, max_rows=1)  # a time is not a day
