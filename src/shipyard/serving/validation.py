"""Checking a request's rows against the model's signature before the model sees one of them.

JSON bodies come as ``{"rows": [{column: value, …}, …]}`` or ``{"columns": {column: [values…]}}``. Every
problem is collected — a missing or unexpected column, a value of the wrong type, a null or non-finite
number where the signature forbids it — and reported together, each naming its row and field, so a
client fixes its payload in one round trip. Valid input comes out as columns of Python values in the
signature's order, ready to become a matrix or a table for one batch.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import InvalidInput
from shipyard.models.signature import ColumnSpec, Signature

MAX_PROBLEMS = 50


class RequestInvalid(InvalidInput):
    """A request that does not fit the model's signature; ``problems`` lists each offending row and field."""

    def __init__(self, problems: list[dict[str, Any]], *, total: int | None = None) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        self.total = total if total is not None else len(problems)
        first = "; ".join(_describe(p) for p in self.problems[:3])
        more = f" (and {self.total - 3} more)" if self.total > 3 else ""
        super().__init__(f"The request does not fit the model's signature: {first}{more}.")


def _describe(problem: Mapping[str, Any]) -> str:
    where = f"row {problem['row']}, " if problem.get("row") is not None else ""
    return f"{where}'{problem['field']}' {problem['problem']}"


@dataclass(frozen=True)
class Batch:
    """Validated input: one list of values per signature column, all of ``rows`` length."""

    columns: dict[str, list[Any]]
    rows: int


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_number(value: Any, spec: ColumnSpec) -> tuple[Any, str | None]:
    if value is None:
        return None, None if spec.nullable else "is null, but the signature says it is not nullable"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"expected {spec.type}, got {_kind(value)} {value!r}"[:200]
    if spec.type == "integer":
        if isinstance(value, float):
            if not value.is_integer():
                return None, f"expected integer, got {value!r}"
            return int(value), None
        return value, None
    if not math.isfinite(value):
        return None, f"expected a finite float, got {value!r}"
    return float(value), None


def _check_other(value: Any, spec: ColumnSpec) -> tuple[Any, str | None]:
    if value is None:
        return None, None if spec.nullable else "is null, but the signature says it is not nullable"
    if spec.type == "boolean":
        return (value, None) if isinstance(value, bool) else (None, f"expected boolean, got {_kind(value)} {value!r}")
    if not isinstance(value, str):
        return None, f"expected {spec.type}, got {_kind(value)} {value!r}"[:200]
    if spec.type == "string":
        return value, None
    try:
        parsed = dt.date.fromisoformat(value) if spec.type == "date" else dt.datetime.fromisoformat(value)
    except ValueError:
        return None, f"expected an ISO 8601 {spec.type}, got {value!r}"[:200]
    return parsed, None


class RowValidator:
    """Validates request bodies against one signature; built once per served model version."""

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self.names = signature.column_names
        self._specs = {spec.name: spec for spec in signature.inputs}
        self._checks = {
            spec.name: _check_number if spec.type in ("integer", "float") else _check_other for spec in signature.inputs
        }
        self.numeric = all(spec.type in ("integer", "float") and not spec.nullable for spec in signature.inputs)

    def rows(self, rows: Any, *, max_rows: int) -> Batch:
        """Validate ``[{column: value}, …]``."""
        if not isinstance(rows, list):
            raise RequestInvalid(
                [{"row": None, "field": "rows", "problem": f"must be a list of objects, got {_kind(rows)}"}]
            )
        if not rows:
            raise RequestInvalid([{"row": None, "field": "rows", "problem": "is empty; send at least one row"}])
        if len(rows) > max_rows:
            raise RequestInvalid(
                [{"row": None, "field": "rows", "problem": f"has {len(rows)} rows, more than the limit of {max_rows}"}]
            )
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        problems: list[dict[str, Any]] = []
        expected = len(self.names)
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                problems.append({"row": index, "field": "*", "problem": f"must be an object, got {_kind(row)}"})
                continue
            if len(row) != expected or not all(name in row for name in self.names):
                problems.extend(self._shape_problems(index, row))
            for name in self.names:
                value, why = self._checks[name](row.get(name), self._specs[name])
                if why is not None and name in row:
                    problems.append({"row": index, "field": name, "problem": why})
                columns[name].append(value)
        if problems:
            raise RequestInvalid(problems)
        return Batch(columns, len(rows))

    def columns(self, data: Any, *, max_rows: int) -> Batch:
        """Validate ``{column: [values…]}``."""
        if not isinstance(data, dict):
            raise RequestInvalid(
                [{"row": None, "field": "columns", "problem": f"must be an object, got {_kind(data)}"}]
            )
        problems = self._shape_problems(None, data)
        lengths = {len(v) for v in data.values() if isinstance(v, list)}
        for name, values in data.items():
            if not isinstance(values, list):
                problems.append({"row": None, "field": name, "problem": f"must be a list, got {_kind(values)}"})
        if len(lengths) > 1:
            problems.append({"row": None, "field": "columns", "problem": f"have different lengths {sorted(lengths)}"})
        if problems:
            raise RequestInvalid(problems)
        count = lengths.pop() if lengths else 0
        if count == 0:
            raise RequestInvalid([{"row": None, "field": "columns", "problem": "hold no rows; send at least one"}])
        if count > max_rows:
            raise RequestInvalid(
                [{"row": None, "field": "columns", "problem": f"hold {count} rows, more than the limit of {max_rows}"}]
            )
        columns: dict[str, list[Any]] = {}
        for name in self.names:
            checked = []
            for index, value in enumerate(data[name]):
                value, why = self._checks[name](value, self._specs[name])
                if why is not None:
                    problems.append({"row": index, "field": name, "problem": why})
                checked.append(value)
            columns[name] = checked
        if problems:
            raise RequestInvalid(problems)
        return Batch(columns, count)

    def _shape_problems(self, index: int | None, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        problems = []
        for name in self.names:
            if name not in row:
                spec = self._specs[name]
                problems.append({"row": index, "field": name, "problem": f"is missing (expected {spec.type})"})
        for name in row:
            if name not in self._specs:
                problems.append({"row": index, "field": name, "problem": "is not an input of this model"})
        return problems
