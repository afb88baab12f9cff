"""Schema inference and profiles, checked against numpy: exact figures exactly, sketches within their bounds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.profile import Profiler, numeric_ranges, profile_parquet
from shipyard.data.schema import QUANTILES, ColumnProfile, ColumnSchema, DatasetProfile, DatasetSchema
from shipyard.data.tables import as_arrow


def profile(source: object, batch_rows: int = 65_536) -> tuple[DatasetSchema, DatasetProfile]:
    table = as_arrow(source)
    profiler = Profiler(table.schema)
    for batch in table.to_batches(max_chunksize=batch_rows):
        profiler.update(batch)
    for batch in table.to_batches(max_chunksize=batch_rows):
        profiler.update_histograms(batch)
    return profiler.finish()


def test_schema_is_inferred(frame: pd.DataFrame) -> None:
    schema, _ = profile(frame)
    assert [(c.name, c.logical_type, c.nullable) for c in schema.columns] == [
        ("id", "integer", False),
        ("score", "float", True),
        ("flag", "boolean", False),
        ("city", "string", True),
        ("tier", "string", False),
        ("seen", "datetime", False),
        ("day", "date", False),
    ]
    assert schema.column("id").arrow_type == "int64" and (schema.column("id").minimum, schema.column("id").maximum) == (
        0,
        999,
    )
    assert schema.column("city").domain == ["lima", "oslo", "paris"]
    assert schema.column("flag").domain == ["false", "true"]
    assert schema.column("tier").minimum == "gold" and schema.column("tier").maximum == "silver"
    assert schema.column("day").minimum == frame["day"].min().isoformat()
    assert schema.column("seen").maximum == frame["seen"].max().isoformat()


def test_domain_stops_at_the_cap() -> None:
    schema, _ = profile({"s": [f"v{i}" for i in range(100)] * 2, "t": [f"v{i}" for i in range(200)]})
    assert schema.column("s").domain is not None and len(schema.column("s").domain or []) == 100
    assert schema.column("t").domain is None


def test_numeric_profile_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=200_000)
    x[rng.random(x.size) < 0.05] = np.nan
    _, prof = profile({"x": x}, batch_rows=30_000)
    col, v = prof.column("x"), x[~np.isnan(x)]
    assert (col.count, col.nulls, col.min, col.max) == (v.size, x.size - v.size, v.min(), v.max())
    assert col.mean == pytest.approx(v.mean(), rel=1e-12) and col.std == pytest.approx(v.std(), rel=1e-9)
    counts, edges = np.histogram(v, bins=20, range=(v.min(), v.max()))
    assert col.histogram == {"edges": pytest.approx(edges.tolist()), "counts": counts.tolist()}
    assert col.quantiles is not None
    for q, value in col.quantiles.items():  # a sample's quantiles: rank within ±0.01 of q
        assert abs(np.mean(v <= value) - float(q)) < 0.01
    assert col.distinct == pytest.approx(v.size, rel=0.05)


def test_small_columns_get_exact_quantiles_and_distinct_counts() -> None:
    x = np.random.default_rng(2).integers(-50, 50, size=5_000)
    _, prof = profile({"x": x}, batch_rows=999)
    col = prof.column("x")
    assert col.quantiles == {
        str(q): pytest.approx(np.quantile(x, q)) for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    }
    assert col.distinct == len(np.unique(x))
    assert col.histogram is not None and col.histogram["counts"] == np.histogram(x, 20, (x.min(), x.max()))[0].tolist()


def test_integer_values_on_bin_edges_land_as_in_numpy() -> None:
    x = np.arange(0, 101)  # range 0..100: every edge (multiples of 5) is a value
    _, prof = profile({"x": x})
    assert prof.column("x").histogram == {
        "edges": np.linspace(0, 100, 21).tolist(),
        "counts": np.histogram(x, 20, (0, 100))[0].tolist(),
    }


def test_infinities_are_counted_and_left_out_of_quantiles_and_histograms() -> None:
    x = np.array([np.inf, -np.inf, np.inf, 1.0, 4.0, np.nan, 2.0, 3.0])  # the first batch of 3 is all infinite
    finite = np.array([1.0, 4.0, 2.0, 3.0])
    table = as_arrow({"x": x})
    assert numeric_ranges(table) == {"x": (1.0, 4.0)}
    one_pass = Profiler(table.schema, ranges=numeric_ranges(table))
    for batch in table.to_batches(max_chunksize=3):
        one_pass.update(batch)
    for _, prof in (profile({"x": x}, batch_rows=3), one_pass.finish()):  # warnings are errors here
        col = prof.column("x")
        assert (col.count, col.nulls, col.infinite, col.min, col.max) == (7, 1, 3, None, None)
        assert col.quantiles == {str(q): pytest.approx(np.quantile(finite, q)) for q in QUANTILES}
        assert col.histogram == {
            "edges": pytest.approx(np.linspace(1.0, 4.0, 21).tolist()),
            "counts": np.histogram(finite, 20, (1.0, 4.0))[0].tolist(),
        }


def test_a_column_of_only_infinities_has_no_quantiles_or_histogram() -> None:
    _, prof = profile({"x": [np.inf, -np.inf, None]})
    col = prof.column("x")
    assert (col.count, col.infinite, col.quantiles, col.histogram) == (2, 2, None, None)
    assert (prof.column("x").to_dict()["mean"], profile({"n": [1, 2]})[1].column("n").infinite) == (None, None)


def test_strings_and_booleans_count_values() -> None:
    s = pd.Series(np.random.default_rng(3).choice(list("abcdefghijklmnopqrstuvwxyz"), size=50_000, p=None))
    b = s < "h"
    _, prof = profile({"s": s, "b": b}, batch_rows=4_096)
    expected = s.value_counts()
    top = prof.column("s").top or []
    assert {v: n for v, n in top} == expected.head(20).to_dict() or len(top) == 20
    assert all(n == expected[v] for v, n in top) and prof.column("s").distinct == 26
    flags = prof.column("b")
    assert flags.top == [[False, int((~b).sum())], [True, int(b.sum())]] and flags.mean == pytest.approx(b.mean())


def test_many_distinct_strings_are_estimated_within_bounds() -> None:
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 30_000, size=120_000)
    hot = rng.random(ids.size) < 0.1  # one value is a tenth of the rows
    values = np.where(hot, "hot", np.char.add("id-", ids.astype(str)))
    _, prof = profile({"s": values}, batch_rows=10_000)
    col = prof.column("s")
    assert col.distinct == pytest.approx(len(np.unique(values)), rel=0.05)
    assert col.top is not None and col.top[0][0] == "hot"
    assert int(hot.sum()) - values.size / 10_001 <= col.top[0][1] <= int(hot.sum())


def same_profile(a: DatasetProfile, b: DatasetProfile) -> bool:
    """Equal, but for mean and std, whose last digits depend on how the rows were summed."""
    rounded = [
        {**c.to_dict(), "mean": c.mean and round(c.mean, 12), "std": c.std and round(c.std, 12)}
        for c in (*a.columns, *b.columns)
    ]
    return rounded[: len(a.columns)] == rounded[len(a.columns) :]


def test_profile_does_not_depend_on_chunking(frame: pd.DataFrame) -> None:
    (schema_a, a), (schema_b, b) = profile(frame, batch_rows=37), profile(frame, batch_rows=1000)
    assert schema_a == schema_b and same_profile(a, b)


def test_without_the_second_pass_histograms_are_missing(frame: pd.DataFrame) -> None:
    table = as_arrow(frame)
    profiler = Profiler(table.schema)
    profiler.update(table.to_batches()[0])
    _, prof = profiler.finish()
    assert prof.column("score").histogram is None and prof.column("score").mean is not None


def test_profiles_are_json_safe_and_round_trip(frame: pd.DataFrame) -> None:
    frame = frame.assign(score=frame["score"].replace(frame["score"].max(), np.inf))
    schema, prof = profile(frame)
    text = json.dumps({"schema": schema.to_dict(), "profile": prof.to_dict()}, allow_nan=False)
    data = json.loads(text)
    assert DatasetSchema.from_dict(data["schema"]).to_dict() == schema.to_dict()
    assert DatasetProfile.from_dict(data["profile"]).to_dict() == prof.to_dict()
    assert data["profile"]["columns"][1]["max"] is None  # the infinite maximum
    assert ColumnSchema.from_dict(schema.columns[0].to_dict()) == schema.columns[0]
    assert ColumnProfile.from_dict(prof.columns[0].to_dict()) == prof.columns[0]


def test_profile_parquet_reads_a_written_file_in_two_passes(frame: pd.DataFrame, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(as_arrow(frame), tmp_path / "f.parquet", row_group_size=100)
    (schema_a, a), (schema_b, b) = profile_parquet(tmp_path / "f.parquet", batch_rows=64), profile(frame)
    assert schema_a == schema_b and same_profile(a, b)


def test_all_null_values_in_a_typed_column_profile_as_empty() -> None:
    _, prof = profile(pa.table({"x": pa.array([None, None], pa.float64())}))
    col = prof.column("x")
    assert (col.count, col.nulls, col.min, col.mean, col.quantiles, col.histogram) == (0, 2, None, None, None, None)


def test_given_ranges_count_histograms_in_one_pass(frame: pd.DataFrame) -> None:
    table = as_arrow(frame)
    profiler = Profiler(table.schema, ranges=numeric_ranges(table))
    assert not profiler.needs_histogram_pass
    for batch in table.to_batches(max_chunksize=128):
        profiler.update(batch)
    schema, prof = profiler.finish()
    two_pass_schema, two_pass = profile(frame)
    assert schema == two_pass_schema and same_profile(prof, two_pass)


def test_a_wrong_range_is_refused() -> None:
    table = as_arrow({"x": [1, 5]})
    profiler = Profiler(table.schema, ranges={"x": (0, 5)})
    profiler.update(table.to_batches()[0])
    with pytest.raises(ValueError, match="range"):
        profiler.finish()
