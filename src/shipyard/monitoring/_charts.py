"""Inline-SVG charts over time for monitor reports: a drift statistic per window, rule outcomes, category shares.

They follow ``gates._svg``: one ``<svg>`` element each, with a ``<title>`` and an ``aria-label``, every text
escaped, well-formed XML, no URL. The x axis of the time charts is real time (UTC), so windows of rows,
which cover uneven spans, are drawn where they happened, and a stretch without traffic shows as a gap.
``column_chart`` and ``column_histogram`` draw one column of ``report.build_report``'s data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from shipyard.gates._svg import (
    CHAR_WIDTH,
    FAIL,
    FONT,
    FONT_SIZE,
    GRID,
    INK,
    MUTED,
    NEUTRAL,
    PASS,
    format_number,
    histogram,
    nice_ticks,
)

__all__ = ["Cell", "Panel", "Point", "column_chart", "column_histogram", "outcome_strip", "time_chart", "utc"]

P_FLOOR = 1e-10
"""p-values below this are drawn at it (the title keeps the exact value)."""
UNJUDGED = "#afb8c1"
SKIPPED = "skipped"
"""A point's status when its window belongs in another panel: the line breaks there, with no marker."""
_SECOND, _MINUTE, _HOUR, _DAY = 1000, 60_000, 3_600_000, 86_400_000
_STEPS = [s * _SECOND for s in (1, 5, 15, 30)] + [m * _MINUTE for m in (1, 5, 10, 15, 30)]
_STEPS += [h * _HOUR for h in (1, 2, 3, 6, 12)] + [d * _DAY for d in (1, 2, 7, 14, 30, 91, 365)]
P_VALUE_METHODS = ("ks", "chi2")
_STATISTIC = {
    "ks": "KS p-value",
    "chi2": "chi² p-value",
    "wasserstein": "Wasserstein distance (in reference std)",
    "psi": "PSI",
    "jensen_shannon": "Jensen–Shannon distance",
    "linf": "L∞ (largest change of a share)",
}
_STATUS_FILL = {"pass": PASS, "fail": FAIL, "insufficient_data": UNJUDGED}


@dataclass(frozen=True)
class Point:
    """One window's statistic, drawn at ``at`` (ms); ``value`` None when the window was not judged."""

    at: int
    value: float | None
    threshold: float | None
    status: str  # drift, no_drift, insufficient_data (a grey tick on the axis) or SKIPPED
    note: str


@dataclass(frozen=True)
class Panel:
    """The points of one statistic; ``log`` draws a p-value on a log scale (drift below the threshold)."""

    label: str
    points: Sequence[Point]
    log: bool = False


@dataclass(frozen=True)
class Cell:
    """One window in an outcome strip: ``[start, end)`` in ms, its status and a note for its tooltip."""

    start: int
    end: int
    status: str
    note: str


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = MUTED, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" stroke="#ffffff" stroke-width="3" '
        f'paint-order="stroke"{extra}>{_e(text)}</text>'
    )


def _open(width: float, height: float, title: str, css: str = "chart") -> list[str]:
    return [
        f'<svg class="{css}" role="img" aria-label="{_e(title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_e(FONT)}" font-size="{FONT_SIZE}">',
        f"<title>{_e(title)}</title>",
    ]


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


class _Time:
    """Milliseconds since the epoch onto pixels, with round UTC ticks."""

    def __init__(self, start: int, end: int, left: float, right: float) -> None:
        self.start, self.end = start, max(end, start + 1)
        self.left, self.right = left, right

    def __call__(self, at: float) -> float:
        return self.left + (at - self.start) / (self.end - self.start) * (self.right - self.left)

    def ticks(self, count: int = 5) -> list[tuple[int, str]]:
        step = next((s for s in _STEPS if (self.end - self.start) / s <= count), _STEPS[-1])
        first = -(-self.start // step) * step
        fmt = "%Y-%m-%d" if step >= 30 * _DAY else "%m-%d" if step >= _DAY else "%H:%M"
        fmt = "%H:%M:%S" if step < _MINUTE else fmt
        ticks, day = [], ""
        for at in range(first, self.end + 1, step):
            moment = datetime.fromtimestamp(at / 1000, UTC)
            label = moment.strftime(fmt)
            if step < _DAY and moment.strftime("%m-%d") != day:  # name the day where it changes
                day = moment.strftime("%m-%d")
                label = f"{day} {label}"
            ticks.append((at, label))
        return ticks

    def axis(self, y: float, top: float) -> list[str]:
        parts = [f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.right:.1f}" y2="{y:.1f}" stroke="{MUTED}"/>']
        for at, label in self.ticks():
            x = self(at)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
            )
            parts.append(_text(x, y + 14, label, anchor="middle"))
        return parts


class _Y:
    """A value axis: linear from zero, or log10 for p-values (floored at ``P_FLOOR``)."""

    def __init__(self, values: Sequence[float], top: float, bottom: float, *, log: bool) -> None:
        self.log, self.top, self.bottom = log, top, bottom
        if log:
            low = min((max(v, P_FLOOR) for v in values), default=0.01)
            self.low, self.high = float(math.floor(math.log10(low))), 0.0
            self.low = min(self.low, -1.0)
            every = max(1, math.ceil(-self.low / 5))
            self.ticks = [float(k) for k in range(0, int(self.low) - 1, -every)]
            self.low = min(self.low, self.ticks[-1])
        else:
            self.ticks = nice_ticks(0.0, max([*values, 0.0]) * 1.1 or 1.0, 4)
            self.low, self.high = self.ticks[0], self.ticks[-1]

    def __call__(self, value: float) -> float:
        v = math.log10(max(value, P_FLOOR)) if self.log else value
        fraction = min(max((v - self.low) / (self.high - self.low), 0.0), 1.0)
        return self.bottom - fraction * (self.bottom - self.top)

    def label(self, tick: float) -> str:
        if not self.log:
            return f"{tick:g}"
        return f"{10**tick:g}" if tick >= -3 else f"1e{int(tick)}"

    def grid(self, left: float, right: float) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.bottom - (tick - self.low) / (self.high - self.low) * (self.bottom - self.top)
            parts.append(
                f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
            )
            parts.append(_text(left - 6, y + 4, self.label(tick), anchor="end"))
        return parts


def time_chart(panels: Sequence[Panel], *, start: int, end: int, title: str, width: int = 600) -> str:
    """A statistic per window over time, one panel per statistic, each with its threshold as a dashed line.

    Drifted windows are red dots (``class="drift"``), calm ones blue, unjudged ones grey ticks on the axis;
    the line breaks at an unjudged window. Panels share the time axis drawn under the last one.
    """
    left, right, panel_height, gap = 56.0, width - 14.0, 104.0, 34.0
    height = 8 + len(panels) * (panel_height + gap) + 8
    x = _Time(start, end, left, right)
    parts = _open(width, height, title, "chart drift")
    for index, panel in enumerate(panels):
        top = 8 + index * (panel_height + gap) + 20
        bottom = top + panel_height - 20
        values = [v for p in panel.points for v in (p.value, p.threshold) if v is not None and math.isfinite(v)]
        y = _Y(values, top, bottom, log=panel.log)
        parts.append(_text(left, top - 8, panel.label, fill=INK, extra=' font-weight="600"'))
        parts += y.grid(left, right)
        parts += x.axis(bottom, top) if index == len(panels) - 1 else [_axis_line(left, right, bottom)]
        parts += _threshold(panel, x, y, right, top)
        parts += _line(panel, x, y)
        for point in panel.points:
            parts.append(_marker(point, x, y, bottom))
    parts.append("</svg>")
    return "".join(parts)


def _axis_line(left: float, right: float, y: float) -> str:
    return f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{MUTED}"/>'


def _threshold(panel: Panel, x: _Time, y: _Y, right: float, top: float) -> list[str]:
    marked = [p for p in panel.points if p.threshold is not None and math.isfinite(p.threshold)]
    if not marked:
        return []
    # A step line through each window's threshold: straight unless the configuration changed on the way.
    points = [f"{x.left:.1f},{y(marked[0].threshold or 0):.1f}"]
    points += [f"{x(p.at):.1f},{y(p.threshold or 0):.1f}" for p in marked]
    points.append(f"{x.right:.1f},{y(marked[-1].threshold or 0):.1f}")
    thresholds = {p.threshold for p in marked}
    label = f"threshold {marked[-1].threshold:g}" if len(thresholds) == 1 else "threshold (changed)"
    return [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{FAIL}" stroke-width="1.2" '
        'stroke-dasharray="5 3"/>',
        _text(right, top - 8, label, anchor="end", fill=FAIL),
    ]


def _line(panel: Panel, x: _Time, y: _Y) -> list[str]:
    runs: list[list[str]] = [[]]
    for point in panel.points:
        if point.value is None or not math.isfinite(point.value):
            runs.append([])
        else:
            runs[-1].append(f"{x(point.at):.1f},{y(point.value):.1f}")
    return [
        f'<polyline points="{" ".join(run)}" fill="none" stroke="{NEUTRAL}" stroke-width="1.5"/>'
        for run in runs
        if len(run) > 1
    ]


def _marker(point: Point, x: _Time, y: _Y, bottom: float) -> str:
    cx = x(point.at)
    if point.status == SKIPPED:
        return ""
    if point.value is None or not math.isfinite(point.value):
        return (
            f'<line class="unjudged" x1="{cx:.1f}" y1="{bottom - 5:.1f}" x2="{cx:.1f}" y2="{bottom:.1f}" '
            f'stroke="{UNJUDGED}" stroke-width="2"><title>{_e(point.note)}</title></line>'
        )
    drift = point.status == "drift"
    return (
        f'<circle class="{"drift" if drift else "calm"}" cx="{cx:.1f}" cy="{y(point.value):.1f}" '
        f'r="{3.5 if drift else 2.5}" fill="{FAIL if drift else NEUTRAL}"><title>{_e(point.note)}</title></circle>'
    )


def outcome_strip(
    rows: Sequence[tuple[str, Sequence[Cell]]], *, start: int, end: int, title: str, width: int = 1000
) -> str:
    """One row of window outcomes per rule: green pass, red fail, grey insufficient data, blank not evaluated."""
    labels = [_clip(name, 28) for name, _ in rows]
    left = min(max((len(s) for s in labels), default=4) * CHAR_WIDTH + 16, 210.0)
    row, top = 22.0, 8.0
    height = top + row * len(rows) + 24
    x = _Time(start, end, left, width - 14.0)
    parts = _open(width, height, title, "chart strip")
    for i, ((name, cells), label) in enumerate(zip(rows, labels, strict=True)):
        y = top + i * row
        parts.append(f"<g><title>{_e(name)}</title>{_text(left - 8, y + 15, label, anchor='end', fill=INK)}</g>")
        for cell in cells:
            x0, x1 = x(cell.start), x(cell.end)
            fill = _STATUS_FILL.get(cell.status, "#ffffff")
            parts.append(
                f'<rect class="{_e(cell.status)}" x="{x0:.1f}" y="{y + 3:.1f}" width="{max(x1 - x0 - 0.5, 1.5):.1f}" '
                f'height="16" fill="{fill}" stroke="{GRID}" stroke-width="0.3"><title>{_e(cell.note)}</title></rect>'
            )
    parts += x.axis(top + row * len(rows) + 2, top)
    parts.append("</svg>")
    return "".join(parts)


def category_bars(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float], *, title: str, width: int = 440
) -> str:
    """Horizontal bars of each category's share: reference (grey) above current (blue)."""
    shown = [_clip(str(label), 22) for label in labels]
    left = min(max((len(s) for s in shown), default=4) * CHAR_WIDTH + 14, 170.0)
    row, top = 20.0, 26.0
    axis_y = top + row * len(labels) + 4
    height = axis_y + 22
    ticks = nice_ticks(0.0, max([*reference, *current, 0.01]), 4)
    right = width - 22.0  # room for half of the last tick's label

    def sx(share: float) -> float:
        return left + min(max(share / ticks[-1], 0.0), 1.0) * (right - left)

    parts = _open(width, height, title)
    parts.append(f'<rect x="{left:.1f}" y="5" width="12" height="9" fill="{UNJUDGED}"/>')
    parts.append(_text(left + 16, 13, "reference", fill=INK))
    parts.append(f'<rect x="{left + 90:.1f}" y="5" width="12" height="9" fill="{NEUTRAL}"/>')
    parts.append(_text(left + 106, 13, "current", fill=INK))
    for tick in ticks:
        tx = sx(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top:.1f}" x2="{tx:.1f}" y2="{axis_y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        parts.append(_text(tx, axis_y + 14, f"{tick:.0%}", anchor="middle"))
    for i, (label, full, ref, cur) in enumerate(zip(shown, labels, reference, current, strict=True)):
        y = top + i * row
        note = f"{full}: reference {ref:.1%}, current {cur:.1%}"
        parts.append(f"<g><title>{_e(note)}</title>{_text(left - 6, y + 13, label, anchor='end', fill=INK)}")
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{sx(ref) - left:.1f}" height="6" fill="{UNJUDGED}"/>'
        )
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 10:.1f}" width="{sx(cur) - left:.1f}" height="6" fill="{NEUTRAL}"/>'
        )
        parts.append("</g>")
    parts.append(_axis_line(left, right, axis_y))
    parts.append("</svg>")
    return "".join(parts)


# --- the report's columns ----------------------------------------------------------------------------------------


def utc(millis: int | None) -> str:
    """``2023-11-14 22:14 UTC`` (seconds only when the moment has some)."""
    if millis is None:
        return "—"
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M" + (":%S" if millis % 60_000 else "")) + " UTC"


def column_chart(column: Mapping[str, Any], *, start: int, end: int) -> str:
    """The drift statistic of one column of ``report.build_report`` per window, a panel per method."""
    panels = _panels(column)
    if not panels:
        return "<p>No window of this column was judged yet.</p>"
    return time_chart(panels, start=start, end=end, title=f"Drift of {column['column']} per window")


def _statistic(entry: Mapping[str, Any]) -> float | None:
    value = entry["p_value"] if entry["method"] in P_VALUE_METHODS else entry["value"]
    return float(value) if isinstance(value, int | float) else None


def _panels(column: Mapping[str, Any]) -> list[Panel]:
    """One panel per method the column was judged with; each window is a point in its method's panel."""
    methods = list(dict.fromkeys(s["method"] for s in column["series"] if s["method"]))
    log = {method: method in P_VALUE_METHODS for method in methods}
    reading = {True: "log scale; drift below the line", False: "drift on or above the line"}
    return [
        Panel(
            f"{_STATISTIC.get(method, method)} ({reading[log[method]]})",
            [_point(s, method) for s in column["series"]],
            log=log[method],
        )
        for method in methods
    ]


def _point(entry: Mapping[str, Any], method: str) -> Point:
    at = (entry["start_at"] + entry["end_at"]) // 2
    head = f"{utc(entry['start_at'])} · {format_number(entry['rows'])} rows · "
    if entry["method"] not in (None, method):  # drawn in its own method's panel
        return Point(at, None, None, SKIPPED, head + f"judged with {entry['method']}")
    value = _statistic(entry) if entry["method"] == method else None
    if value is None:
        return Point(at, None, None, "insufficient_data", head + (entry.get("note") or "too few values to judge"))
    threshold = entry["threshold"]
    note = f"{method} {format_number(value)} (threshold {format_number(threshold)}): {entry['status']}"
    return Point(at, value, threshold, entry["status"], head + note)


def column_histogram(column: Mapping[str, Any]) -> str:
    """The latest judged window's histogram of a column against its reference; categories as bars of shares."""
    found = column["histogram"]
    if not found:
        return "<p>No histogram: no window has values of this column yet.</p>"
    rows = found.get("rows") or 0
    when = f"{utc(found['start_at'])}, {rows:,} rows"
    labels, ref, cur = found.get("labels", []), found.get("reference", []), found.get("current", [])
    edges = found.get("edges")
    if edges and rows and _intervals(labels):
        # The gate's histogram draws counts: the window's own, and the reference's shares scaled to its rows.
        title = f"{column['column']} in the window of {when}: its counts, and the reference's shares scaled to its rows"
        try:
            svg = histogram(
                [float("-inf"), *edges, float("inf")],
                [s * rows for s in cur],
                reference_counts=[s * rows for s in ref],
                title=title,
                width=440,
            )
            return svg + f"<p>Histogram of the window of {_e(when)} against the training data.</p>"
        except ValueError:  # bins that do not fit together: drawn as categories below
            pass
    title = f"{column['column']}: share of each value or bin, in the reference and the window of {when}"
    svg = category_bars([str(x) for x in labels], ref, cur, title=title)
    return svg + f"<p>Shares in the window of {_e(when)} against the training data.</p>"


def _intervals(labels: Sequence[str]) -> bool:
    """True when the bins between "< min" and "> max" are all ranges of plain numbers (the gate's histogram
    labels edges as numbers); single values (a column of few distinct values) and dates read better as the
    drift statistics label them, drawn as categories."""
    try:
        return all(s.startswith("[") and [float(x) for x in s[1:-1].split(", ")] for s in labels[1:-1])
    except ValueError:
        return False
