"""A model's signature: the columns it takes (logical type, nullability) and what it predicts.

>>> sig = infer_signature(train.drop(columns="label"), model.predict(train.drop(columns="label")[:5]))
>>> sig.inputs[0]
ColumnSpec(name='age', type='integer', nullable=False)
>>> table = validate_input(request_table, sig)   # SignatureMismatch naming every bad column, or a clean table

Types are *logical* (``integer``, ``float``, ``boolean``, ``string``, ``datetime``, ``date``), not Arrow or
numpy dtypes, so a signature inferred from pandas accepts the same data sent as polars, Arrow or JSON rows.

Every table reaches this module through ``shipyard.data.tables.as_arrow``, whose canonical form has one
Arrow type per logical type and turns NaN into null (pandas cannot tell them apart); so a column's
``null_count`` counts every missing value, and NaN needs no separate check here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import InvalidInput
from shipyard.packaging._tables import to_arrow

__all__ = ["LOGICAL_TYPES", "ColumnSpec", "Signature", "SignatureMismatch", "infer_signature", "validate_input"]

LOGICAL_TYPES = ("integer", "float", "boolean", "string", "datetime", "date")
# The Arrow type of a column of each logical type in shipyard.data.tables' canonical form.
_ARROW_TYPES = {
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "string": pa.large_string(),
    "datetime": pa.timestamp("us"),
    "date": pa.date32(),
}
ARROW_TYPES = _ARROW_TYPES
"""The Arrow type each logical type is canonically stored as."""


class SignatureMismatch(InvalidInput):
    """Input data does not fit a signature; ``problems`` maps each offending column to what is wrong with it."""

    def __init__(self, problems: Mapping[str, str], signature: Signature) -> None:
        self.problems = dict(problems)
        lines = "\n".join(f"  - '{name}': {problem}" for name, problem in self.problems.items())
        expected = ", ".join(f"{c.name} ({c.type}{', nullable' if c.nullable else ''})" for c in signature.inputs)
        count = len(self.problems)
        super().__init__(
            f"The input does not match the model's signature ({count} problem{'s' if count > 1 else ''}):\n"
            f"{lines}\nSend exactly these columns: {expected}."
        )


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, logical type (one of ``LOGICAL_TYPES``) and whether nulls are allowed."""

    name: str
    type: str
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.type not in LOGICAL_TYPES:
            raise InvalidInput(
                f"The type of column '{self.name}' must be one of {', '.join(LOGICAL_TYPES)}. Got {self.type!r}."
            )


@dataclass(frozen=True)
class Signature:
    """What a model takes and gives.

    ``output`` is the logical type of one prediction (``None`` when unknown); ``output_shape`` is the shape
    of one row's prediction: ``()`` for one value per row, ``(k,)`` for a multi-output model.
    """

    inputs: tuple[ColumnSpec, ...]
    output: str | None = None
    output_shape: tuple[int, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in self.inputs],
            "output": self.output,
            "output_shape": list(self.output_shape),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            inputs = tuple(ColumnSpec(str(c["name"]), str(c["type"]), bool(c["nullable"])) for c in data["inputs"])
            output = data.get("output")
            shape = tuple(int(n) for n in data.get("output_shape", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"Not a valid signature: {exc!r} in {dict(data)!r}.") from exc
        return cls(inputs, None if output is None else str(output), shape)


def logical_type(arrow_type: pa.DataType) -> str | None:
    """The logical type of an Arrow type, or ``None`` if signatures do not support it (lists, structs, …)."""
    t = pa.types
    if t.is_dictionary(arrow_type):  # pandas categoricals arrive dictionary-encoded
        return logical_type(arrow_type.value_type)
    if t.is_boolean(arrow_type):
        return "boolean"
    if t.is_integer(arrow_type):
        return "integer"
    if t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "float"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type):
        return "string"
    if t.is_timestamp(arrow_type):
        return "datetime"
    if t.is_date(arrow_type):
        return "date"
    return None


def infer_inputs(table: pa.Table) -> tuple[ColumnSpec, ...]:
    """One ``ColumnSpec`` per column of a canonical Arrow table; a column is nullable if it holds any null."""
    specs, problems = [], {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = logical_type(field.type)
        if pa.types.is_null(field.type):
            problems[field.name] = "is entirely null, so its type cannot be inferred"
        elif kind is None:
            problems[field.name] = f"has type {field.type}, which signatures do not support"
        else:
            specs.append(ColumnSpec(field.name, kind, column.null_count > 0))
    if problems:
        lines = "\n".join(f"  - '{name}': {problem}" for name, problem in problems.items())
        raise InvalidInput(
            f"Cannot infer a signature from this data:\n{lines}\n"
            f"Supported types: {', '.join(LOGICAL_TYPES)}. Drop or convert these columns, or pass signature=."
        )
    return tuple(specs)


def infer_output(predictions: object) -> tuple[str, tuple[int, ...]]:
    """The logical type and per-row shape of a model's predictions (from a few rows)."""
    array = np.asarray(predictions)
    if array.ndim == 0:
        raise InvalidInput(f"Predictions must have one entry per row; got a scalar {array!r}.")
    by_kind = {"b": "boolean", "i": "integer", "u": "integer", "f": "float", "U": "string", "S": "string"}
    kind = by_kind.get(array.dtype.kind)
    if kind is None and array.dtype.kind == "M":
        kind = "datetime"
    if kind is None:  # object arrays: let Arrow look at the values (e.g. string class labels)
        try:
            kind = logical_type(pa.array(array.ravel()).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            kind = None
    if kind is None:
        raise InvalidInput(
            f"Cannot infer the output type from predictions of dtype {array.dtype} (e.g. {array.ravel()[:3]!r}); "
            "pass signature= with an explicit output type."
        )
    return kind, tuple(int(n) for n in array.shape[1:])


def infer_signature(inputs_table: object, predictions: object = None) -> Signature:
    """The signature of a model that takes ``inputs_table``'s columns and gives ``predictions``.

    ``inputs_table`` is any supported table (pandas, polars, Arrow, dict of lists, list of row dicts);
    every column becomes an input. Without ``predictions`` the output type is left unknown (``None``).
    """
    inputs = infer_inputs(to_arrow(inputs_table))
    if predictions is None:
        return Signature(inputs)
    output, shape = infer_output(predictions)
    return Signature(inputs, output, shape)


def _conform(column: pa.ChunkedArray, spec: ColumnSpec) -> tuple[pa.ChunkedArray | None, str | None]:
    """``column`` (canonical Arrow) as the type ``spec`` asks for, or ``(None, why not)``."""
    got = "null" if pa.types.is_null(column.type) else logical_type(column.type)
    if got == spec.type:
        return column, None  # canonical already: int64, float64, bool, large_string, timestamp[us], date32
    if got == "null":
        return pa.nulls(len(column), _ARROW_TYPES[spec.type]), None
    if got == "integer" and spec.type == "float":
        return pc.cast(column, pa.float64()), None
    if got == "float" and spec.type == "integer":
        # Truncating 1.5 to 1 would silently change what the model sees; 2.0 is just an integer in a float column.
        fractional = pc.filter(column, pc.not_equal(column, pc.floor(column)))
        if len(fractional):
            return None, f"expected integer, got float with fractional values (e.g. {fractional[0].as_py()})"
        try:
            return pc.cast(column, pa.int64()), None
        except pa.ArrowInvalid:
            return None, "expected integer, got float values outside the 64-bit integer range"
    return None, f"expected {spec.type}, got {got or column.type}"


def validate_input(table: object, signature: Signature) -> pa.Table:
    """Check a table against ``signature`` and return it with the signature's column order and types.

    Raises ``SignatureMismatch`` (an ``InvalidInput``) naming every offending column at once: missing and
    unexpected columns, incompatible types (an integer column may feed a float input, a float column an
    integer input only if all its values are whole; strings never feed numbers), and nulls or NaN in a
    column the signature says is not nullable.
    """
    data = to_arrow(table)
    expected = {c.name for c in signature.inputs}
    names = data.column_names
    problems: dict[str, str] = {}
    for name in names:
        if names.count(name) > 1:
            problems[name] = "appears more than once"
        elif name not in expected:
            problems[name] = "is not an input of this model"
    columns = []
    for spec in signature.inputs:
        if spec.name not in names:
            problems[spec.name] = f"is missing (expected {spec.type})"
            continue
        if spec.name in problems:
            continue
        column, why = _conform(data.column(spec.name), spec)
        if column is None:
            problems[spec.name] = why or "has the wrong type"
        elif not spec.nullable and column.null_count:
            problems[spec.name] = (
                f"has {column.null_count} null or NaN value(s), but the signature says it is not nullable"
            )
        else:
            columns.append(column)
    if problems:
        raise SignatureMismatch(problems, signature)
    return pa.Table.from_arrays(columns, names=signature.column_names)


_PANDAS_DTYPES = {"float": ("float64",), "integer": ("int64",), "boolean": ("bool",)}


def pandas_fast_path(data: object, signature: Signature) -> Any:
    """``data`` itself when it is a pandas DataFrame that plainly fits ``signature``; otherwise None.

    Plainly fits: exactly the signature's columns, each already of the dtype the canonical Arrow form
    would give it (float64, int64, bool, or strings), with no nulls where the signature forbids them.
    Anything less plain returns None, and ``validate_input`` then converts, checks and explains; so the
    fast path accepts a subset of what ``validate_input`` accepts, and refuses nothing itself.
    """
    if type(data).__module__.split(".")[0] != "pandas" or type(data).__name__ != "DataFrame":
        return None
    frame: Any = data
    names = signature.column_names
    if len(frame.columns) != len(names) or set(frame.columns) != set(names) or not frame.columns.is_unique:
        return None
    if len(frame) == 0:
        return None
    from pandas.api.types import infer_dtype

    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    must_be_complete = []
    for spec in signature.inputs:
        kind = str(dtypes[spec.name])
        if spec.type == "string":
            # A pandas string dtype holds only strings; an object column must be looked at.
            if kind not in ("str", "string") and not (kind == "object" and infer_dtype(frame[spec.name]) == "string"):
                return None
        elif kind not in _PANDAS_DTYPES.get(spec.type, ()):
            return None
        if not spec.nullable and spec.type in ("float", "string"):
            must_be_complete.append(spec.name)
    # One vectorised pass over all the columns that may hold no nulls, not one per column.
    if must_be_complete and frame[must_be_complete].isna().to_numpy().any():
        return None
    return frame
