"""Checking what a client sends before anything acts on it: a request's rows against the model's signature,
feedback items against what the feedback log stores, and request ids.

JSON bodies come as ``{"rows": [{column: value, …}, …]}`` or ``{"columns": {column: [values…]}}``. Every
problem is collected — a missing or unexpected column, a value of the wrong type, a null or non-finite
number where the signature forbids it, an integer beyond 64 bits — and reported together, each naming its
row and field, so a client fixes its payload in one round trip. Valid input comes out as columns of Python
values in the signature's order, ready to become a matrix or a table for one batch. Feedback items are
checked the same way, every problem naming its item and field.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from shipyard.core.errors import InvalidInput
from shipyard.packaging.signature import ColumnSpec, Signature

MAX_PROBLEMS = 50
BODY_FORMS = ("rows", "columns", "dataframe_records")
"""The keys a JSON body of rows may come under (the last is MLflow's); a body holds exactly one of them."""
REQUEST_ID_MAX = 128
REQUEST_ID_CHARS = "letters, digits and - _ . : ; / + = @"
REQUEST_ID_PATTERN = rf"[A-Za-z0-9._:;/+=@-]{{1,{REQUEST_ID_MAX}}}"
"""What a request id may be: a client's ``X-Request-Id`` (UUIDs, W3C and AWS trace ids fit) that does not
match is replaced by one the server makes, so it cannot bloat or inject into the log, the headers or a page."""
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
REQUEST_ID_BYTES = re.compile(REQUEST_ID_PATTERN.encode())
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of an ``integer`` input: what the model's int64 (or float64) input can hold. Python's ints and
JSON's numbers are unbounded, so a value beyond it is refused here rather than overflowing in the model."""
_FLOAT_INT64_END = 2.0**63  # the first float past INT64_MAX (floats below it, down to -2**63, fit)
_TOO_BIG = f"which does not fit a 64-bit integer ({INT64_MIN} to {INT64_MAX})"


class RequestInvalid(InvalidInput):
    """A request that does not fit the model's signature; ``problems`` lists each offending row and field."""

    def __init__(self, problems: list[dict[str, Any]], *, total: int | None = None) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        self.total = total if total is not None else len(problems)
        first = "; ".join(_describe(p) for p in self.problems[:3])
        more = f" (and {self.total - 3} more)" if self.total > 3 else ""
        super().__init__(f"The request does not fit the model's signature: {first}{more}.")

    @property
    def details(self) -> dict[str, Any]:
        return {"problems": self.problems, "problem_count": self.total}


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
            if -_FLOAT_INT64_END <= value < _FLOAT_INT64_END:
                return int(value), None
        elif INT64_MIN <= value <= INT64_MAX:
            return value, None
        return None, f"expected integer, got {value!r}, {_TOO_BIG}"
    if not math.isfinite(value):
        return None, f"expected a finite float, got {value!r}"
    return float(value), None


def _check_other(value: Any, spec: ColumnSpec) -> tuple[Any, str | None]:
    if value is None:
        return None, None if spec.nullable else "is null, but the signature says it is not nullable"
    if spec.type == "boolean":
        return (value, None) if isinstance(value, bool) else (None, f"expected boolean, got {_kind(value)} {value!r}")
    if isinstance(value, dt.date) and spec.type != "string":  # an Arrow or Parquet body's times come as objects
        if isinstance(value, dt.datetime) is (spec.type == "datetime"):
            return value, None
        return None, f"expected {spec.type}, got {_kind(value)} {value!r}"[:200]
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
        # Rows of floats only, for a signature of non-nullable floats: checked in bulk (see _float_rows).
        self._float_row: Callable[[Any], Any] | None = None
        if self.names and all(spec.type == "float" and not spec.nullable for spec in signature.inputs):
            getter = operator.itemgetter(*self.names)
            self._float_row = getter if len(self.names) > 1 else lambda row: (getter(row),)

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
        if self._float_row is not None:
            batch = self._float_rows(rows)
            if batch is not None:
                return batch
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

    def _float_rows(self, rows: list[Any]) -> Batch | None:
        """The batch of rows that are objects holding exactly the signature's columns, each a finite float: what
        nearly every request is, checked in bulk; None for anything else, which the row-by-row check then
        answers (with every problem named), so this path decides nothing the other would refuse."""
        assert self._float_row is not None
        expected = len(self.names)
        try:  # a row that is not an object, or lacks a column, raises here
            values = [self._float_row(row) for row in rows]
        except (KeyError, TypeError, IndexError):
            return None
        for row in rows:
            if type(row) is not dict or len(row) != expected:  # an extra column (or a mapping of another kind)
                return None
        flat = [value for row in values for value in row]
        # Floats only (ints, bools, strings, nulls take the other path); a sum that is finite has no inf or NaN
        # in it (one that overflows only sends these rows the slow way).
        if set(map(type, flat)) != {float} or not math.isfinite(sum(flat)):
            return None
        return Batch(dict(zip(self.names, map(list, zip(*values, strict=True)), strict=True)), len(rows))

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


# feedback --------------------------------------------------------------------------------------------

LABEL_MAX_CHARS = 1_000
FEEDBACK_FIELDS = ("request_id", "label", "row")
_LABELS = {
    "number": "a number or a boolean",
    "string": "a string",
    "any": "a number, a boolean or a string",
}


def label_kind(output: str | None) -> str:
    """The labels feedback takes for a model whose signature's output type is ``output``: ``"number"``
    (numbers and booleans, stored as float64), ``"string"``, or ``"any"`` of those when the output is unknown.

    A label of the kind the model predicts keeps the feedback log's label column one type from segment to
    segment, so it joins with the predictions as they are (a stray string would turn it to text).
    """
    if output in ("integer", "float", "boolean"):
        return "number"
    return "string" if output == "string" else "any"


class FeedbackItem(NamedTuple):
    """One checked label: for the request ``request_id`` (its row ``row``, or all of it when None)."""

    request_id: str
    label: float | str
    row: int | None


class FeedbackInvalid(InvalidInput):
    """Feedback items that cannot be stored; ``problems`` lists each offending item and field."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        self.total = len(problems)
        first = "; ".join(_describe_item(p) for p in self.problems[:3])
        more = f" (and {self.total - 3} more)" if self.total > 3 else ""
        super().__init__(f"The feedback is not valid: {first}{more}.")

    @property
    def details(self) -> dict[str, Any]:
        return {"problems": self.problems, "problem_count": self.total}


def _describe_item(problem: Mapping[str, Any]) -> str:
    where = f"item {problem['item']}, " if problem.get("item") is not None else ""
    return f"{where}'{problem['field']}' {problem['problem']}"


def feedback_items(items: Any, *, labels: str, max_items: int) -> list[FeedbackItem]:
    """Check ``[{"request_id": …, "label": …, "row": …}, …]``; ``labels`` is a :func:`label_kind`.

    Numeric labels come out as floats, as the feedback log stores them. Raises ``FeedbackInvalid`` listing
    every problem.
    """
    if not isinstance(items, list):
        raise FeedbackInvalid([{"item": None, "field": "items", "problem": f"must be a list, got {_kind(items)}"}])
    if not items:
        raise FeedbackInvalid([{"item": None, "field": "items", "problem": "is empty; send at least one item"}])
    if len(items) > max_items:
        too_many = f"has {len(items):,} items, more than the limit of {max_items:,}; send them in several requests"
        raise FeedbackInvalid([{"item": None, "field": "items", "problem": too_many}])
    checked: list[FeedbackItem] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            shape = f"must be an object with request_id and label, got {_kind(item)}"
            problems.append({"item": index, "field": "*", "problem": shape})
            continue
        names = (*FEEDBACK_FIELDS, *(name for name in item if name not in FEEDBACK_FIELDS))
        found = [(name, why) for name in names if (why := _item_problem(name, item, labels)) is not None]
        problems.extend({"item": index, "field": name, "problem": problem} for name, problem in found)
        if not found:
            label = item["label"]
            checked.append(
                FeedbackItem(item["request_id"], label if isinstance(label, str) else float(label), item.get("row"))
            )
    if problems:
        raise FeedbackInvalid(problems)
    return checked


def _item_problem(name: str, item: Mapping[str, Any], labels: str) -> str | None:
    if name not in FEEDBACK_FIELDS:
        return "is not a feedback field; send request_id, label and (optionally) row"
    if name not in item:
        return None if name == "row" else f"is missing; send {_FIELD_DOC[name]}"
    value = item[name]
    if name == "request_id":
        if isinstance(value, str) and REQUEST_ID.fullmatch(value):
            return None
        return f"must be {_FIELD_DOC[name]}, got {_kind(value)} {value!r}"[:200]
    if name == "row":
        if value is None or (type(value) is int and 0 <= value <= INT64_MAX):
            return None
        return f"must be {_FIELD_DOC[name]}, got {_kind(value)} {value!r}"[:200]
    expected = _LABELS[labels]
    if value is None:
        return f"is null; send the observed label ({expected})"
    if isinstance(value, str):
        if labels == "number":
            return f"expected {expected} (what the model predicts), got str {value!r}"[:200]
        if len(value) > LABEL_MAX_CHARS:
            return f"has {len(value):,} characters, more than the limit of {LABEL_MAX_CHARS:,}"
        return None
    if isinstance(value, int | float) and labels != "string":
        return None  # JSON numbers are finite, and fit a float64 (ints beyond 64 bits arrive as floats)
    return (
        f"expected {expected}{' (what the model predicts)' if labels != 'any' else ''}, got {_kind(value)} {value!r}"[
            :200
        ]
    )


_FIELD_DOC = {
    "request_id": f"the request id /predict answered with (at most {REQUEST_ID_MAX} characters: {REQUEST_ID_CHARS})",
    "label": "the observed label",
    "row": "the index of a row of the request (an integer from 0), or nothing for the whole request",
}
