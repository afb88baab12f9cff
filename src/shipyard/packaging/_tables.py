"""Turning user tables into Arrow, and Arrow into what a model library eats (numpy matrices, pandas frames).

Every prediction goes user data → Arrow (one canonical form to validate against the signature) → the
model's own input type. Arrow is the pivot because validation, casting and null counting are vectorised
there and do not depend on which dataframe library the caller happens to use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput, MissingDependency

if TYPE_CHECKING:
    from numpy.typing import NDArray


def to_arrow(data: object) -> pa.Table:
    """Any supported table (pandas, polars, Arrow, dict of lists, list of row dicts) as an Arrow table."""
    from shipyard.data.tables import as_arrow

    # A request may hold a column of only nulls (a nullable input left empty); the signature types it next.
    table: pa.Table = as_arrow(data, keep_null_columns=True)
    return table


def data_kind(data: object) -> str:
    """Which library a table came from: ``pandas``, ``polars``, ``arrow`` or ``python`` (dicts and lists)."""
    module = type(data).__module__.split(".")[0]
    return {"pandas": "pandas", "polars": "polars", "pyarrow": "arrow"}.get(module, "python")


def require(module: str, *, package: str, extra: str, purpose: str) -> Any:
    """Import an optional library, or raise ``MissingDependency`` naming the ``pip install`` line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency.for_extra(package, extra, purpose) from exc


def is_numeric(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type))


def to_matrix(table: pa.Table, dtype: type[np.generic] = np.float64, *, library: str) -> NDArray[Any]:
    """The table's columns, in order, stacked into one 2-D array; nulls become NaN.

    Tree and tensor libraries take one numeric matrix, so a string or date column cannot be fed to them;
    ``library`` names the model library in that error.
    """
    not_numeric = [f"'{f.name}' ({f.type})" for f in table.schema if not is_numeric(f.type)]
    if not_numeric:
        raise InvalidInput(
            f"{library} models take numeric columns only; got {', '.join(not_numeric)}. "
            "Encode these columns as numbers before training and predicting, or wrap the model with its "
            "preprocessing (flavor='python_function')."
        )
    out = np.empty((table.num_rows, table.num_columns), dtype=dtype)
    for i, column in enumerate(table.columns):
        # Casting to float64 in Arrow first turns nulls into NaN on the way out, for ints and booleans too.
        out[:, i] = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return out


def to_object_matrix(table: pa.Table) -> NDArray[Any]:
    """A 2-D object array for models fitted on mixed numpy input (strings beside numbers); nulls become None."""
    if all(is_numeric(f.type) for f in table.schema):
        return to_matrix(table, library="scikit-learn")
    out = np.empty((table.num_rows, table.num_columns), dtype=object)
    for i, column in enumerate(table.columns):
        out[:, i] = column.to_numpy(zero_copy_only=False)
    return out


def to_pandas(table: pa.Table, *, purpose: str) -> Any:
    """The table as a pandas DataFrame (for models fitted on one)."""
    require("pandas", package="pandas", extra="pandas", purpose=purpose)
    return table.to_pandas()


def to_polars(table: pa.Table, *, purpose: str) -> Any:
    """The table as a polars DataFrame (for python_function models saved with polars input)."""
    polars = require("polars", package="polars", extra="polars", purpose=purpose)
    return polars.from_arrow(table)
