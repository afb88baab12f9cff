"""``NumericSummary``: the count, extremes and moments a profile and a drift reference share, checked against numpy."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from shipyard.data.summary import NumericSummary, column_logical_type, most_frequent, numeric_values


def test_chunks_give_numpys_figures_whatever_the_chunking() -> None:
    x = np.random.default_rng(0).normal(1e6, 3.0, 10_001)  # a large mean: the naive sum of squares would cancel
    for size in (1, 7, 10_001):
        summary = NumericSummary()
        for start in range(0, len(x), size):
            summary.add(x[start : start + size])
        assert (summary.count, summary.low, summary.high) == (len(x), x.min(), x.max())
        assert summary.mean == pytest.approx(x.mean(), rel=1e-14)
        assert summary.std == pytest.approx(x.std(), rel=1e-9)


def test_nan_and_infinities_are_counted_apart_and_left_out() -> None:
    summary = NumericSummary()
    finite = summary.add(np.array([np.inf, 1.0, np.nan, 3.0, -np.inf]))
    assert finite.tolist() == [1.0, 3.0]
    assert (summary.count, summary.nonfinite, summary.low, summary.high, summary.mean, summary.std) == (
        2,
        3,
        1.0,
        3.0,
        2.0,
        1.0,
    )


def test_an_empty_summary_has_no_figures() -> None:
    summary = NumericSummary()
    summary.add(np.array([np.nan]))
    summary.add(np.empty(0))
    assert (summary.count, summary.nonfinite, summary.low, summary.high) == (0, 1, None, None)
    assert math.isnan(summary.std)


def test_given_extremes_are_trusted_and_exact_integers_stay_exact() -> None:
    big = 2**53 + 1  # not a float64: the integer extremes are kept as given
    summary = NumericSummary()
    summary.add(np.array([big, 5], dtype=np.int64).astype(np.float64), (5, big))
    assert (summary.low, summary.high) == (5, big)


def test_logical_types_and_numbers_of_any_arrow_column() -> None:
    assert [column_logical_type(t) for t in (pa.int8(), pa.float32(), pa.string(), pa.date64(), pa.binary())] == [
        "integer",
        "float",
        "string",
        "date",
        None,
    ]
    assert column_logical_type(pa.dictionary(pa.int32(), pa.string())) == "string"
    days = numeric_values(pa.array([86_400_000 * 3, None], pa.date64()), "date")
    assert days[0] == 3.0 and np.isnan(days[1])
    micros = numeric_values(pa.array([2, None], pa.timestamp("ms")), "datetime")
    assert micros[0] == 2_000.0 and np.isnan(micros[1])


def test_most_frequent_orders_by_count_then_value() -> None:
    assert most_frequent(["b", "a", "c", "d"], [2, 2, 5, 1], 3) == [("c", 5), ("a", 2), ("b", 2)]
