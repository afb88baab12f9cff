"""Shared test data for dataset versions: one small mixed table, as a pandas frame."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest


def mixed_frame(rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Every canonical kind, with some nulls: ints, floats, bools, strings, a categorical, timestamps, dates."""
    rng = np.random.default_rng(seed)
    floats = rng.normal(size=rows)
    floats[::17] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "score": floats,
            "flag": rng.random(rows) < 0.3,
            "city": pd.array(rng.choice(["paris", "oslo", "lima", None], size=rows), dtype="string"),
            "tier": pd.Categorical(rng.choice(["gold", "silver"], size=rows)),
            "seen": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, rows), unit="s"),
            "day": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D")).date,
        }
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return mixed_frame()


@pytest.fixture
def arrow_pool() -> Iterator[pa.MemoryPool]:
    """Arrow's default memory pool, replaced for the test by a proxy whose ``max_memory()`` starts at 0."""
    previous = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(previous)
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(previous)


def as_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
        for row in df.astype(object).to_dict("records")
    ]
