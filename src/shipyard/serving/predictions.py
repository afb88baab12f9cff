"""Reading prediction logs back: the segments of a time window, as one Arrow table (``sy.predictions``).

Only the segments whose time range meets the window are read (an index on the segment's last row time),
then rows are filtered exactly. Segments written by different versions may have other input columns:
those read as nulls where absent, and a column whose type changed between segments is read as text.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.entities import PredictionSegment
from shipyard.core.errors import InvalidInput
from shipyard.core.validation import check_name
from shipyard.serving.predlog import _AT, FEEDBACK_SCHEMA, PREDICTION_SCHEMA, ROLES

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # what the store and Arrow hold; a caller's int may be larger


def read_predictions(
    backend: Backend,
    project: str,
    model: str,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    version: int | None = None,
    role: str | None = None,
) -> pa.Table:
    """The logged rows of ``model`` with ``since_ms <= at < until_ms``, oldest first (columns: module docstring).

    Segments written by different versions may have different input columns; a column missing from a
    segment is null in its rows. ``NotFound`` for an unknown project.
    """
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not _INT64_MIN <= version <= _INT64_MAX
    ):
        raise InvalidInput(f"The 'version' parameter must be a model version number (int). Got {version!r} instead.")
    if role is not None and role not in ROLES:
        raise InvalidInput(f"The 'role' parameter must be one of {', '.join(ROLES)}. Got {role!r} instead.")
    segments = _segments(backend, project, model, "predictions", since_ms, until_ms)
    if version is not None:
        segments = [s for s in segments if version in s.versions]
    table = _read(backend, segments, PREDICTION_SCHEMA, since_ms, until_ms)
    if version is not None:
        table = table.filter(pc.field("version") == version)
    if role is not None:
        table = table.filter(pc.field("role") == role)
    return table


def read_feedback(
    backend: Backend, project: str, model: str, *, since_ms: int | None = None, until_ms: int | None = None
) -> pa.Table:
    """The feedback rows of ``model`` with ``since_ms <= at < until_ms``, oldest first."""
    segments = _segments(backend, project, model, "feedback", since_ms, until_ms)
    return _read(backend, segments, FEEDBACK_SCHEMA, since_ms, until_ms)


def _segments(
    backend: Backend, project: str, model: str, kind: str, since_ms: int | None, until_ms: int | None
) -> list[PredictionSegment]:
    check_name(project, "project")
    if "@" in check_name(model, "model"):
        raise InvalidInput(
            f"Prediction logs are kept per model name; got {model!r}. Give the name alone and pick a version "
            "with version=, e.g. sy.predictions('churn', version=3)."
        )
    return backend.predictions.segments(project, model, kind, since_ms=since_ms, until_ms=until_ms)


def _read(
    backend: Backend,
    segments: list[PredictionSegment],
    empty: pa.Schema,
    since_ms: int | None,
    until_ms: int | None,
) -> pa.Table:
    if not segments:
        return empty.empty_table()
    tables = [pq.read_table(pa.BufferReader(backend.blobs.read_bytes(s.blob_digest))) for s in segments]
    table = _concat(tables)
    if since_ms is not None:
        table = table.filter(pc.field("at") >= pa.scalar(since_ms, _AT))
    if until_ms is not None:
        table = table.filter(pc.field("at") < pa.scalar(until_ms, _AT))
    return table.sort_by("at")  # a stable sort: rows of one request stay in order


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table; a column whose type changed between segments (numbers, then text) is read as text."""
    types: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for column in table.schema:
            types.setdefault(column.name, set()).add(column.type)
    conflicting = {name for name, found in types.items() if not _unifiable(name, found)}
    if conflicting:
        tables = [_as_text(table, conflicting) for table in tables]
    return pa.concat_tables(tables, promote_options="permissive")


def _unifiable(name: str, found: set[pa.DataType]) -> bool:
    try:
        pa.unify_schemas([pa.schema([(name, t)]) for t in found], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _as_text(table: pa.Table, names: set[str]) -> pa.Table:
    for index, name in enumerate(table.column_names):
        if name in names:
            table = table.set_column(index, name, table.column(index).cast(pa.large_string()))
    return table


def to_ms(value: datetime | date | timedelta | str | int | None, parameter: str) -> int | None:
    """A point in time as ms since the epoch: a datetime (naive means local time), a date, an ISO 8601 string,
    ms since the epoch, or a ``timedelta`` meaning that long ago."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int((time.time() - value.total_seconds()) * 1000)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"The {parameter!r} parameter must be an ISO 8601 time such as '2024-05-01T12:00:00Z'. "
                f"Got {value!r} instead."
            ) from None
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day).timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise InvalidInput(
                f"The {parameter!r} parameter must be milliseconds since the epoch within 64 bits "
                f"({_INT64_MIN} to {_INT64_MAX}). Got {value!r} instead."
            )
        return value
    raise InvalidInput(
        f"The {parameter!r} parameter must be a datetime, a date, an ISO 8601 string, a timedelta (that long ago) "
        f"or an int of milliseconds since the epoch. Got {type(value).__name__} {value!r} instead."
    )
