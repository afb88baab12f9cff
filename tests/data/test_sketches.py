"""The bounded summaries behind the profile: exact while small, within their stated bounds beyond."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from shipyard.data._sketches import DistinctSketch, HeavyHitters, RowSample, hash_strings, mix64


def test_distinct_is_exact_up_to_k_and_close_beyond() -> None:
    small, large = DistinctSketch(k=4096), DistinctSketch(k=4096)
    small.add_numbers(np.tile(np.arange(4000, dtype=np.int64), 50))
    for chunk in np.array_split(np.random.default_rng(0).normal(size=300_000), 7):
        large.add_numbers(chunk)
    assert small.estimate() == 4000
    assert large.estimate() == pytest.approx(300_000, rel=0.05)  # ~3 standard errors


def test_distinct_does_not_depend_on_order_or_chunking() -> None:
    values = np.random.default_rng(1).integers(0, 50_000, size=100_000)
    one, other = DistinctSketch(), DistinctSketch()
    one.add_numbers(values)
    for chunk in np.array_split(values[::-1], 13):
        other.add_numbers(chunk)
    assert one.estimate() == other.estimate()


def test_string_hashes_depend_on_content_not_on_slicing() -> None:
    strings = pa.array(["", "a", "ab", "ba", "x" * 100, "x" * 99 + "y", "é"], pa.large_string())
    hashes = hash_strings(strings)
    assert len(set(hashes.tolist())) == len(strings)
    assert hash_strings(strings.slice(2, 3)).tolist() == hashes[2:5].tolist()


def test_row_sample_keeps_everything_when_small_and_is_chunking_independent() -> None:
    values = np.random.default_rng(2).normal(size=50_000)
    whole, chunked = RowSample(["x"], k=1000), RowSample(["x"], k=1000)
    whole.add(0, {"x": pa.array(values)})
    for start in range(0, values.size, 777):
        chunked.add(start, {"x": pa.array(values[start : start + 777])})
    assert np.array_equal(np.sort(whole.values("x")), np.sort(chunked.values("x")))
    assert len(whole.values("x")) == 1000
    everything = RowSample(["x"], k=100_000)
    everything.add(0, {"x": pa.array(values)})
    assert np.array_equal(np.sort(everything.values("x")), np.sort(values))


def test_heavy_hitters_are_exact_until_capacity_then_bounded() -> None:
    counts = HeavyHitters(capacity=100)
    counts.add(pa.array(["a", "b"], pa.large_string()), np.array([5, 1]))
    counts.add(pa.array(["b", "c"], pa.large_string()), np.array([2, 1]))
    assert counts.exact and counts.top(2) == [("a", 5), ("b", 3)]
    rows = 0
    for start in range(0, 10_000, 500):
        counts.add(pa.array([f"v{i}" for i in range(start, start + 500)], pa.large_string()), np.ones(500, np.int64))
        counts.add(pa.array(["a"], pa.large_string()), np.array([50]))
        rows += 550
    top_value, top_count = counts.top(1)[0]
    assert not counts.exact and top_value == "a"
    assert 1005 - (rows + 9) / 101 <= top_count <= 1005 and len(counts.counts) <= 100


def test_mix64_is_a_bijection_on_a_sample() -> None:
    words = np.arange(100_000, dtype=np.uint64)
    assert len(np.unique(mix64(words))) == words.size
