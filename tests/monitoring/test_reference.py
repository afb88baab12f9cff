"""A reference summarises each column once, exactly for tables, in bounded memory for batches; it round-trips."""

from __future__ import annotations

import datetime as dt
import json
import struct

import numpy as np
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInput
from shipyard.data.profile import Profiler, numeric_ranges
from shipyard.data.tables import as_arrow
from shipyard.monitoring import _reference_build as building
from shipyard.monitoring.reference import (
    GRID,
    CategoricalReference,
    NumericReference,
    Reference,
)


def table(rows: int = 2_000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "income": rng.lognormal(3, 1, rows),
            "calls": rng.poisson(2, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
            "active": rng.random(rows) < 0.7,
        }
    )


def numeric(ref: Reference, name: str) -> NumericReference:
    column = ref.columns[name]
    assert isinstance(column, NumericReference)
    return column


def test_a_numeric_column_keeps_exact_moments_extremes_and_a_quantile_grid() -> None:
    data = table()
    column = numeric(Reference.build(data), "income")
    x = data["income"].to_numpy()
    assert (column.count, column.nulls, column.logical_type) == (2_000, 0, "float")
    assert column.mean == pytest.approx(x.mean()) and column.std == pytest.approx(x.std())
    assert (column.minimum, column.maximum) == (x.min(), x.max())
    assert column.grid[0] == x.min() and column.grid[-1] == np.nextafter(x.max(), np.inf)
    assert GRID + 2 <= len(column.grid) <= GRID + 14  # the quantiles, a few more in the tails, the float after max
    np.testing.assert_allclose(column.shares_below, (x[:, None] < column.grid).mean(axis=0))
    assert column.quantile(0.5) == pytest.approx(np.median(x), rel=1e-3)


def test_a_value_repeated_across_quantiles_gets_a_bin_of_its_own() -> None:
    column = numeric(Reference.build(pa.table({"calls": [0] * 600 + [1] * 300 + [5] * 100})), "calls")
    share_below = dict(zip(column.grid.tolist(), column.shares_below.tolist(), strict=True))
    for value, below, up_to in [(0, 0.0, 0.6), (1, 0.6, 0.9), (5, 0.9, 1.0)]:
        assert share_below[value] == pytest.approx(below)
        assert share_below[np.nextafter(value, np.inf)] == pytest.approx(up_to)  # the atom alone in its bin


def test_nulls_nan_and_infinities_count_as_missing() -> None:
    column = numeric(Reference.build(pa.table({"x": [1.0, None, np.nan, np.inf, -np.inf, 3.0]})), "x")
    assert (column.count, column.nulls, column.minimum, column.maximum) == (2, 4, 1.0, 3.0)


def test_dates_and_datetimes_are_compared_as_numbers() -> None:
    days = pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 3)], pa.date32())
    times = pa.array([0, 2_000_000], pa.timestamp("ms"))  # milliseconds in, microseconds kept
    ref = Reference.build(pa.table({"day": days, "at": times}))
    assert (numeric(ref, "day").minimum, numeric(ref, "day").logical_type) == (19_723, "date")
    assert (numeric(ref, "at").maximum, numeric(ref, "at").logical_type) == (2e9, "datetime")


def test_a_categorical_column_keeps_its_top_values_and_counts_the_rest_as_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(building, "TOP_VALUES", 2)
    ref = Reference.build(pa.table({"plan": ["a", "b", "b", "c", "c", "c", None], "on": [True] * 5 + [False, None]}))
    plan, on = ref.columns["plan"], ref.columns["on"]
    assert isinstance(plan, CategoricalReference) and isinstance(on, CategoricalReference)
    assert (plan.values, plan.counts.tolist(), plan.other, plan.nulls) == (["c", "b"], [3, 2], 1, 1)
    assert (on.values, on.counts.tolist(), on.logical_type) == (["true", "false"], [5, 1], "boolean")


def test_a_table_and_its_batches_give_the_same_reference() -> None:
    data = table(3_000)
    from_batches = Reference.build(iter(data.to_batches(max_chunksize=700)))
    assert from_batches == Reference.build(data)


def test_batches_beyond_the_sample_bound_are_summarised_from_a_uniform_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(building, "SAMPLE_ROWS", 4_096)
    data = table(50_000)
    sampled, exact = (
        numeric(Reference.build(data.to_batches(max_chunksize=5_000)), "income"),
        numeric(Reference.build(data), "income"),
    )
    assert sampled.sample is not None and 4_000 < sampled.sample <= 4_096 and exact.sample is None
    assert (sampled.count, sampled.minimum, sampled.maximum) == (exact.count, exact.minimum, exact.maximum)
    assert sampled.mean == pytest.approx(exact.mean, rel=1e-12)
    true_share = (data["income"].to_numpy()[:, None] < sampled.grid[::50]).mean(axis=0)
    assert np.abs(true_share - sampled.shares_below[::50]).max() < 5 * np.sqrt(0.25 / 4_096)


def test_columns_limits_the_summary_and_unknown_names_are_refused() -> None:
    assert list(Reference.build(table(), columns=["plan"]).columns) == ["plan"]
    with pytest.raises(InvalidInput, match=r"'nope'.*its columns: income, calls, plan, active"):
        Reference.build(table(), columns=["plan", "nope"])


def test_columns_of_types_drift_cannot_compare_are_named() -> None:
    data = pa.table({"ok": [1, 2], "tags": [[1], [2]], "blob": pa.array([b"x", b"y"])})
    with pytest.raises(InvalidInput, match=r"'tags' \(list<item: int64>\), 'blob' \(binary\)"):
        Reference.build(data)


def test_sources_without_rows_or_batches_are_refused() -> None:
    with pytest.raises(InvalidInput, match="without rows"):
        Reference.build(pa.table({"x": pa.array([], pa.float64())}))
    with pytest.raises(InvalidInput, match="gave nothing"):
        Reference.build(iter([]))
    batches = [pa.record_batch({"x": [1.0]}), pa.record_batch({"x": ["a"]})]
    with pytest.raises(InvalidInput, match="Batch 1 does not match"):
        Reference.build(batches)


def test_a_reference_round_trips_through_bytes() -> None:
    ref = Reference.build(pa.table({**table().to_pydict(), "empty": pa.array([None, None] * 1_000, pa.float64())}))
    again = Reference.from_bytes(ref.to_bytes())
    assert again == ref and list(again.columns) == list(ref.columns)
    assert len(ref.to_bytes()) < 40_000


def test_garbage_truncated_or_future_bytes_are_invalid_input() -> None:
    blob = Reference.build(table()).to_bytes()
    with pytest.raises(InvalidInput, match="not a Shipyard drift reference"):
        Reference.from_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(InvalidInput, match="corrupt"):
        Reference.from_bytes(blob[: len(blob) // 2])
    marker = b"SHIPYARD-REFERENCE\n"
    header = json.dumps({"format": 99, "rows": 1, "columns": []}).encode()
    with pytest.raises(InvalidInput, match=r"format version 99.*reads version 1"):
        Reference.from_bytes(marker + struct.pack("<I", len(header)) + header)


def test_to_dict_is_a_json_summary_without_grids() -> None:
    summary = Reference.build(table()).to_dict()
    text = json.dumps(summary, allow_nan=False)
    assert summary["columns"]["plan"]["top"][0] == ["basic", summary["columns"]["plan"]["top"][0][1]]
    assert set(summary["columns"]["income"]["quantiles"]) == {"0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"}
    assert len(text) < 4_000


def test_a_reference_and_a_dataset_profile_of_the_same_column_agree() -> None:
    rng = np.random.default_rng(7)
    income = rng.lognormal(3, 1, 5_000)
    income[::97] = np.nan  # null in a dataset version, missing in a reference
    plans = rng.choice(["basic", "pro", "team", "enterprise"], 5_000, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    plans[::89] = None
    data = as_arrow({"income": income, "calls": rng.poisson(2, 5_000), "plan": plans})
    profiler = Profiler(data.schema, ranges=numeric_ranges(data))
    for batch in data.to_batches(max_chunksize=700):
        profiler.update(batch)
    _, profile = profiler.finish()
    for ref in (Reference.build(data), Reference.build(data.to_batches(max_chunksize=700))):
        for name in ("income", "calls"):
            col, summary = profile.column(name), numeric(ref, name)
            assert (summary.count, summary.nulls, summary.minimum, summary.maximum) == (
                col.count,
                col.nulls,
                col.min,
                col.max,
            )
            assert (summary.mean, summary.std) == (
                pytest.approx(col.mean, rel=1e-12),
                pytest.approx(col.std, rel=1e-12),
            )
            for q, value in (col.quantiles or {}).items():  # numpy's quantiles, which are edges of the grid
                assert np.abs(summary.grid - value).min() <= 1e-9 * abs(value), (name, q)
        plan, col = ref.columns["plan"], profile.column("plan")
        assert isinstance(plan, CategoricalReference)
        assert (plan.count, plan.nulls) == (col.count, col.nulls)
        assert [[v, int(c)] for v, c in zip(plan.values, plan.counts, strict=True)] == col.top


def test_infinities_are_missing_in_a_reference_and_counted_apart_in_a_profile() -> None:
    data = as_arrow({"x": [1.0, np.inf, 2.0, -np.inf, 4.0, None]})
    profiler = Profiler(data.schema)
    for batch in data.to_batches(max_chunksize=2):
        profiler.update(batch)
    col = profiler.finish()[1].column("x")
    summary = numeric(Reference.build(data.to_batches(max_chunksize=2)), "x")
    assert (col.count, col.nulls, col.infinite, col.to_dict()["mean"]) == (5, 1, 2, None)
    assert (summary.count, summary.nulls, summary.minimum, summary.maximum) == (3, 3, 1.0, 4.0)
    assert summary.mean == pytest.approx(7 / 3)
