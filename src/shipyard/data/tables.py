"""Tables: turn what users hand us into one canonical Arrow form, so equal data gives equal digests.

Accepted sources: a pandas or polars ``DataFrame``, a pyarrow ``Table`` or ``RecordBatch``, a dict of column
name → list / numpy array / pyarrow array, a list of row dicts, and (streaming only, through
``iter_canonical_batches``) the path of a ``.parquet`` file, of a folder of ``.parquet`` files, or of a
``.csv`` / ``.csv.gz`` file.

The canonical form:

- **Columns** keep the order they are given in. Names must be unique, non-empty strings.
- **pandas index**: an unnamed index (a ``RangeIndex`` or any other, e.g. what is left after filtering) is
  dropped; named index levels become leading columns, as ``df.reset_index()`` would make them. Parquet files
  written by pandas are read the same way (their ``__index_level_N__`` columns are dropped).
- **Types** (one Arrow type per kind, so a pandas ``int32`` and a polars ``Int64`` of the same values agree):

  - signed integers of any width → ``int64``; unsigned ones → ``int64`` too (a ``uint64`` value above
    2**63-1 is an error);
  - floats of any width → ``float64``, and **NaN becomes null**: pandas cannot tell NaN from missing, so
    neither can a dataset version;
  - booleans → ``bool``;
  - string, large_string, string_view, pandas object columns of str → ``large_string`` (64-bit offsets, so
    one column may exceed 2 GB);
  - timestamps of any unit → ``timestamp[us]``; tz-aware ones → ``timestamp[us, tz=UTC]`` (the same
    instants). A sub-microsecond part is an error rather than silently dropped;
  - dates → ``date32``.

  Dictionary-encoded columns (pandas / polars categoricals) are decoded to their value type first, so a
  categorical of strings is a string column.
- **Rejected**, with ``InvalidInput`` naming the columns: duplicate or non-string names, nested values
  (list, struct, map, union; a pandas object column holding dicts or lists), other types (binary, decimal,
  time of day, duration, objects that are not strings), columns holding only nulls (their type cannot be
  known: give them a type, e.g. ``df[c].astype("float64")``), no columns at all, and no rows at all.
- Every field is nullable and schema/field metadata (pandas metadata etc.) is dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput

ACCEPTED = (
    "a pandas or polars DataFrame, a pyarrow Table or RecordBatch, a dict of column name -> list/array, "
    "or a list of row dicts"
)
ACCEPTED_STREAMING = ACCEPTED + ", or the path of a .parquet file, a folder of .parquet files, or a .csv file"
SUPPORTED_TYPES = "integers, floats, booleans, strings (or categoricals of them), timestamps and dates"
INT64_MAX = 2**63 - 1


def as_arrow(source: object, *, keep_null_columns: bool = False) -> pa.Table:
    """Convert an in-memory table to the canonical Arrow form described in this module's docstring.

    ``keep_null_columns=True`` keeps a column of only nulls, whose type cannot be inferred, as Arrow's
    ``null`` type instead of refusing it: for callers that cast to a known schema next (a model signature
    receiving ``[{"income": None}]``). Dataset versions always refuse such columns.

    >>> as_arrow({"x": [1, 2], "s": ["a", None]}).schema
    x: int64
    s: large_string
    """
    return canonical_table(_raw_table(source), keep_null_columns=keep_null_columns)


# --- canonical types ----------------------------------------------------------------------------------
def canonical_schema(schema: pa.Schema, *, keep_null_columns: bool = False) -> pa.Schema:
    """The canonical schema for ``schema``; ``InvalidInput`` naming every column that cannot be canonical."""
    check_names(schema.names)
    if not schema.names:
        raise InvalidInput("A dataset version needs at least one column; the table has none.")
    problems: list[str] = []
    fields = []
    for field in schema:
        null = keep_null_columns and pa.types.is_null(field.type)
        target = pa.null() if null else _canonical_type(field.name, field.type, problems)
        if target is not None:
            fields.append(pa.field(field.name, target))
    if problems:
        raise InvalidInput("Some columns cannot be stored in a dataset version:\n  " + "\n  ".join(problems))
    return pa.schema(fields)


def canonical_table(table: pa.Table, *, keep_null_columns: bool = False) -> pa.Table:
    """Cast ``table`` to its canonical schema; ``InvalidInput`` for zero rows or a column that cannot be."""
    schema = canonical_schema(table.schema, keep_null_columns=keep_null_columns)
    if table.num_rows == 0:
        raise InvalidInput("A dataset version needs at least one row; the table has none.")
    columns = [canonical_column(f.name, col, f.type) for f, col in zip(schema, table.columns, strict=True)]
    return pa.Table.from_arrays(columns, schema=schema)


def canonical_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast one batch (whose raw schema canonicalises to ``schema``) to ``schema``."""
    columns = [canonical_column(f.name, col, f.type) for f, col in zip(schema, batch.columns, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def canonical_column(name: str, column: Any, target: pa.DataType) -> Any:
    """Cast one column (Array or ChunkedArray) to its canonical ``target`` type."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_unsigned_integer(column.type) and column.type.bit_width == 64:
        biggest = pc.max(column).as_py()
        if biggest is not None and biggest > INT64_MAX:
            raise InvalidInput(
                f"Column {name!r} holds the unsigned value {biggest}, above the int64 maximum {INT64_MAX}; "
                "store it as a float or a string instead."
            )
    if column.type != target:
        try:
            column = column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            hint = ""
            if pa.types.is_timestamp(target):
                hint = " Round it to microseconds first (pandas: df[c].dt.floor('us'))."
            raise InvalidInput(f"Column {name!r} cannot be stored as {target}: {exc}.{hint}") from exc
    if pa.types.is_floating(target):
        column = _nan_to_null(column)
    return column


def _canonical_type(name: str, t: pa.DataType, problems: list[str]) -> pa.DataType | None:
    if pa.types.is_dictionary(t):
        return _canonical_type(name, t.value_type, problems)
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_boolean(t):
        return pa.bool_()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=None if t.tz is None else "UTC")
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_null(t):
        problems.append(f"{name!r} holds only nulls, so its type is unknown; give it a type (e.g. float64, string)")
    elif pa.types.is_nested(t):
        problems.append(f"{name!r} is nested ({t}); a dataset version holds flat columns of {SUPPORTED_TYPES}")
    else:
        problems.append(f"{name!r} has type {t}, which is not supported; supported: {SUPPORTED_TYPES}")
    return None


def _nan_to_null(column: Any) -> Any:
    nan = pc.is_nan(column)
    if not pc.any(nan).as_py():
        return column
    return pc.if_else(nan, pa.scalar(None, pa.float64()), column)


def check_names(names: Sequence[object]) -> None:
    """``InvalidInput`` unless every column name is a non-empty string and no name repeats."""
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise InvalidInput(
            f"Column names must be non-empty strings; got {', '.join(repr(n) for n in bad)}. "
            "Rename them (pandas: df.columns = [str(c) for c in df.columns])."
        )
    counts = Counter(names)
    duplicates = sorted(str(n) for n, count in counts.items() if count > 1)
    if duplicates:
        raise InvalidInput(f"Column names must be unique; repeated: {', '.join(repr(n) for n in duplicates)}.")


# --- in-memory sources → raw Arrow tables --------------------------------------------------------------
def _raw_table(source: object) -> pa.Table:
    module = type(source).__module__
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if module.startswith("pandas") and type(source).__name__ == "DataFrame":
        return _from_pandas(source)
    if module.startswith("polars") and type(source).__name__ == "DataFrame":
        return _from_polars(source)
    if isinstance(source, Mapping):
        return _from_columns(source)
    if isinstance(source, list) and all(isinstance(row, Mapping) for row in source):
        return _from_rows(source)
    raise InvalidInput(f"A dataset is made from {ACCEPTED}; got {type(source).__module__}.{type(source).__name__}.")


def _from_pandas(df: Any) -> pa.Table:
    check_names(list(df.columns))
    index_names = [n for n in df.index.names if n is not None]
    check_names(index_names + list(df.columns))
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        # pyarrow's message does not reliably say which column failed: convert them one by one to find out.
        table = pa.table({name: _convert(name, df[name], from_pandas=True) for name in df.columns})
    for position, name in reversed(list(enumerate(df.index.names))):
        if name is not None:
            table = table.add_column(0, name, _convert(name, df.index.get_level_values(position), from_pandas=True))
    return table


def _from_polars(df: Any) -> pa.Table:
    # Polars types that have no Arrow counterpart arrive as types canonical_schema rejects, naming the column.
    table: pa.Table = df.to_arrow()
    return table


def _from_columns(columns: Mapping[Any, Any]) -> pa.Table:
    check_names(list(columns))
    arrays = {name: _convert(name, values, from_pandas=False) for name, values in columns.items()}
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInput(f"All columns need the same number of values; got lengths {lengths}.")
    return pa.table(arrays)


def _from_rows(rows: list[Mapping[Any, Any]]) -> pa.Table:
    # Names in order of first appearance over all rows (pyarrow's from_pylist reads the first row's keys only
    # and would silently drop a key that first appears later). A key missing from a row is a null there.
    if not rows:
        raise InvalidInput("A dataset version needs at least one row; the list of rows is empty.")
    names: dict[Any, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    check_names(list(names))
    return _from_columns({name: [row.get(name) for row in rows] for name in names})


def _convert(name: str, values: Any, *, from_pandas: bool) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    try:
        return pa.array(values, from_pandas=from_pandas)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"Column {name!r} cannot be converted to a flat column of {SUPPORTED_TYPES}: {exc}. "
            "Check that all its values have one type."
        ) from exc
