"""Dataset versions, the store-independent part: canonical tables, content digests, schemas and profiles.

>>> from shipyard.data import write_canonical_parquet
>>> written = write_canonical_parquet(df, Path("/tmp/out"))   # one canonical Parquet file
>>> written.digest, written.schema.names, written.profile.rows

The names below are loaded on first use, so ``import shipyard.data`` does not import pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.data.digest import TableHasher
    from shipyard.data.profile import (
        ColumnProfile,
        ColumnSchema,
        DatasetProfile,
        DatasetSchema,
        Profiler,
        profile_parquet,
    )
    from shipyard.data.sources import iter_canonical_batches
    from shipyard.data.tables import as_arrow
    from shipyard.data.writer import WrittenDataset, read_dataset, write_canonical_parquet

__all__ = [
    "ColumnProfile",
    "ColumnSchema",
    "DatasetProfile",
    "DatasetSchema",
    "Profiler",
    "TableHasher",
    "WrittenDataset",
    "as_arrow",
    "iter_canonical_batches",
    "profile_parquet",
    "read_dataset",
    "write_canonical_parquet",
]

# name → module that defines it; imported only when the name is first used (PEP 562).
_HOME = {
    "TableHasher": "digest",
    "ColumnProfile": "profile",
    "ColumnSchema": "profile",
    "DatasetProfile": "profile",
    "DatasetSchema": "profile",
    "Profiler": "profile",
    "profile_parquet": "profile",
    "as_arrow": "tables",
    "iter_canonical_batches": "sources",
    "WrittenDataset": "writer",
    "read_dataset": "writer",
    "write_canonical_parquet": "writer",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"shipyard.data.{module}"), name)
    globals()[name] = value
    return value
