"""The windows a monitor evaluates, cut from the prediction log.

A time window (``window = "1h"``) is aligned to the epoch: ``[k·size, (k+1)·size)`` in UTC, so two evaluators
cut the same windows. A row window (``window_rows = 5000``) holds the next 5,000 logged rows after the last
evaluated window, extended to the end of the millisecond of its last row so that the next window starts
cleanly at a time boundary. Only complete windows are evaluated — a time window once its end has passed, a row
window once it has its rows — and at most ``catch_up`` of them per evaluation (the latest), so a monitor that
was off for a month does not replay every hour of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.core.errors import NotFound
from shipyard.serving.predictions import read_predictions

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend
    from shipyard.monitoring.config import MonitorSpec

CATCH_UP = 24


@dataclass(frozen=True)
class Window:
    """Rows of the prediction log logged at ``start_at <= at < end_at`` (ms since the epoch)."""

    start_at: int
    end_at: int
    table: pa.Table

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def versions(self) -> list[int]:
        if self.rows == 0:
            return []
        return sorted(int(v) for v in pc.unique(self.table.column("version")).to_pylist() if v is not None)

    def __repr__(self) -> str:
        from shipyard.monitoring.display import rows_window_line

        return rows_window_line(self.start_at, self.end_at, self.rows, self.versions)

    def _repr_html_(self) -> str:
        from shipyard.monitoring.display import PREVIEW_ROWS, rows_window_html

        head = self.table.slice(0, PREVIEW_ROWS).to_pylist()
        return rows_window_html(self.start_at, self.end_at, self.versions, self.rows, head)


def due_windows(
    backend: Backend,
    spec: MonitorSpec,
    project: str,
    *,
    after_ms: int | None,
    now_ms: int,
    catch_up: int = CATCH_UP,
) -> list[Window]:
    """The complete windows of ``spec`` that start at or after ``after_ms`` (the last evaluated window's end)."""
    try:
        return _due(backend, spec, project, after_ms, now_ms, catch_up)
    except NotFound:  # the project has logged nothing yet
        return []


def _due(
    backend: Backend, spec: MonitorSpec, project: str, after_ms: int | None, now_ms: int, catch_up: int
) -> list[Window]:
    if spec.window_rows is not None:
        return _row_windows(backend, spec, project, after_ms, catch_up)
    assert spec.window_seconds is not None
    size = max(1, int(spec.window_seconds * 1000))
    if after_ms is None:
        segments = backend.predictions.segments(project, spec.model_name, "predictions")
        if not segments:
            return []
        after_ms = min(s.first_at for s in segments) // size * size
    first = -(-after_ms // size) * size  # the first boundary at or after it
    last_end = now_ms // size * size
    starts = list(range(first, last_end, size))[-catch_up:]
    return [Window(start, start + size, _read(backend, spec, project, start, start + size)) for start in starts]


def _row_windows(
    backend: Backend, spec: MonitorSpec, project: str, after_ms: int | None, catch_up: int
) -> list[Window]:
    assert spec.window_rows is not None
    table = _read(backend, spec, project, after_ms, None)
    if table.num_rows:  # segments written by several workers may overlap in time
        table = table.sort_by("at")
    at = pc.cast(table.column("at"), pa.int64()).to_numpy(zero_copy_only=False) if table.num_rows else None
    windows: list[Window] = []
    start = 0
    while at is not None and start + spec.window_rows <= len(at):
        end = start + spec.window_rows
        while end < len(at) and at[end] == at[end - 1]:  # the rest of the last row's millisecond
            end += 1
        windows.append(Window(int(at[start]), int(at[end - 1]) + 1, table.slice(start, end - start)))
        start = end
    return windows[-catch_up:]


def _read(backend: Backend, spec: MonitorSpec, project: str, since: int | None, until: int | None) -> pa.Table:
    table = read_predictions(backend, project, spec.model_name, since_ms=since, until_ms=until)
    if set(spec.roles) != {"champion", "canary", "shadow"} and table.num_rows:
        table = table.filter(pc.is_in(table.column("role"), value_set=pa.array(list(spec.roles))))
    return table
