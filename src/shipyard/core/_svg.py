"""Small inline-SVG charts for reports and notebooks, as strings: no browser, no plotting library.

For gate reports: an interval plot, horizontal bars with a threshold, a histogram. For monitor reports: a
statistic per window over real time (UTC), a strip of rule outcomes per window, category shares. For
notebook displays: a sparkline, a histogram small enough for a table cell. The time charts place windows
where they happened, so windows of rows, which cover uneven spans, keep their true width, and a stretch
without traffic shows as a gap.

Each function returns one ``<svg>`` element with explicit ``width``/``height``/``viewBox``, a ``<title>`` and
an ``aria-label`` naming what it shows, and every piece of text escaped, so the result is well-formed XML
that can be pasted into an HTML document as is. No ``xmlns`` is written: HTML puts inline ``<svg>`` in the
SVG namespace by itself, and a report that works offline should not even mention a URL.

Text widths are estimated (there are no font metrics without a browser), so labels are kept short and
long ones are cut with an ellipsis; the full text stays in the element's ``<title>``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

__all__ = [
    "Bar",
    "Cell",
    "Panel",
    "Point",
    "bar_chart",
    "category_bars",
    "format_number",
    "histogram",
    "interval_plot",
    "nice_ticks",
    "numeric_bins",
    "outcome_strip",
    "sparkline",
    "time_chart",
]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
FONT_SIZE = 11
CHAR_WIDTH = FONT_SIZE * 0.62  # a generous average for proportional sans-serif digits and letters
INK = "#1f2328"
MUTED = "#656d76"
GRID = "#d0d7de"
PASS = "#1a7f37"
FAIL = "#cf222e"
NEUTRAL = "#0969da"
UNJUDGED = "#afb8c1"
MISSING = "—"
P_FLOOR = 1e-10
"""p-values below this are drawn at it (the title keeps the exact value)."""
SKIPPED = "skipped"
"""A point's status when its window belongs in another panel: the line breaks there, with no marker."""


def format_number(value: object) -> str:
    """Format a number for people: 3–4 significant digits, thousands separators, ``—`` for None and NaN.

    >>> [format_number(v) for v in (0.83, 0.00001234, 12345.6, 100000, float("nan"), None, True)]
    ['0.83', '1.234e-05', '12,346', '100,000', '—', '—', 'true']
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return MISSING
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        value += 0.0  # -0.0 becomes 0.0: a rounded zero has no sign
        # Below 1e-4 "g" switches to exponent notation by itself; large values read better in full.
        return f"{value:,.0f}" if 1e4 <= abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 × 10ⁿ) covering ``[low, high]``, ends included."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high == low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    # round() keeps 0.30000000000000004 from reaching the labels; 0 stays exactly 0 for the zero line.
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]


def _tick_label(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.4g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.4g}k"
    return format_number(value)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(max_chars - 1, 1)] + "…"


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, extra: str = "") -> str:
    # A white halo under each label keeps it readable where it crosses a grid or threshold line.
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


class _Scale:
    """A linear map from a data range onto a pixel range; the domain comes from round ticks."""

    def __init__(self, values: Sequence[float], start: float, stop: float, ticks: int = 5) -> None:
        finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
        self.ticks = nice_ticks(min(finite), max(finite), ticks)
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.start, self.stop = start, stop

    def __call__(self, value: float) -> float:
        fraction = (value - self.low) / (self.high - self.low)
        return self.start + min(max(fraction, 0.0), 1.0) * (self.stop - self.start)


def _x_axis(scale: _Scale, y: float, top: float) -> list[str]:
    parts = [f'<line x1="{scale.start:.1f}" y1="{y:.1f}" x2="{scale.stop:.1f}" y2="{y:.1f}" stroke="{MUTED}"/>']
    for tick in scale.ticks:
        x = scale(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        parts.append(_text(x, y + 14, _tick_label(tick), anchor="middle", fill=MUTED))
    return parts


def _threshold_label(x: float, y: float, width: float, text: str, colour: str) -> str:
    # Keep the label inside the picture: it hangs left of lines near the right edge.
    anchor, dx = ("end", -4.0) if x > width * 0.65 else ("start", 4.0)
    return _text(x + dx, y, text, anchor=anchor, fill=colour, extra=' font-weight="600"')


def interval_plot(
    low: float,
    high: float,
    *,
    estimate: float | None = None,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    confidence: float | None = None,
    subject: str = "difference",
    zero_line: bool = True,
    passed: bool | None = None,
    width: int = 640,
) -> str:
    """A horizontal confidence interval with its point estimate, a zero line and a threshold line.

    ``passed`` colours the interval (green, red, or blue when unknown); the caption states the numbers
    so that nothing is conveyed by colour alone.
    """
    height, left, right, axis_y, mid_y = 112, 16.0, width - 16.0, 86.0, 58.0
    level = f"{confidence * 100:.4g}% " if confidence is not None and math.isfinite(confidence) else ""
    caption = f"{level}interval of the {subject}: {format_number(low)} to {format_number(high)}"
    if estimate is not None:
        caption += f" (estimate {format_number(estimate)})"
    title = caption + (f"; {threshold_label} {format_number(threshold)}" if threshold is not None else "")
    values = [low, high] + [v for v in (estimate, threshold) if v is not None] + ([0.0] if zero_line else [])
    finite = [v for v in values if math.isfinite(v)]
    pad = (max(finite) - min(finite)) * 0.04  # so that no line sits on the frame
    values += [min(finite) - pad, max(finite) + pad]
    x = _Scale(values, left, right)
    colour = NEUTRAL if passed is None else PASS if passed else FAIL
    parts = [*_open(width, height, title), _text(left, 14, caption, fill=INK, extra=' font-weight="600"')]
    parts += _x_axis(x, axis_y, 24)
    if zero_line and x.low <= 0 <= x.high:
        parts.append(f'<line x1="{x(0):.1f}" y1="24" x2="{x(0):.1f}" y2="{axis_y}" stroke="{INK}" stroke-width="1.5"/>')
    if threshold is not None and math.isfinite(threshold):
        tx = x(threshold)
        parts.append(
            f'<line x1="{tx:.1f}" y1="24" x2="{tx:.1f}" y2="{axis_y}" stroke="{FAIL}" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>'
        )
        parts.append(_threshold_label(tx, 36, width, f"{threshold_label} {format_number(threshold)}", FAIL))
    x0, x1 = x(low), x(high)
    parts.append(f'<line x1="{x0:.1f}" y1="{mid_y}" x2="{x1:.1f}" y2="{mid_y}" stroke="{colour}" stroke-width="6"/>')
    for end in (x0, x1):
        parts.append(
            f'<line x1="{end:.1f}" y1="{mid_y - 9}" x2="{end:.1f}" y2="{mid_y + 9}" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    if estimate is not None and math.isfinite(estimate):
        parts.append(
            f'<circle cx="{x(estimate):.1f}" cy="{mid_y}" r="5" fill="#ffffff" stroke="{colour}" stroke-width="2.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart; ``failed`` colours it (None: neutral), ``threshold`` marks a per-row floor."""

    label: str
    value: float | None
    failed: bool | None = None
    threshold: float | None = None
    note: str = ""


def bar_chart(
    bars: Sequence[Bar],
    *,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    title: str = "",
    width: int = 640,
) -> str:
    """Horizontal bars from zero with a vertical threshold line; failing rows are red and marked ✗.

    Rows whose thresholds differ get a short tick each instead of (or besides) the shared line.
    """
    row, top, bottom = 22.0, 28.0, 30.0
    labels = [_clip(b.label + (f" ({b.note})" if b.note else ""), 32) for b in bars]
    # Failing labels are bold, hence the 10% extra on the estimated width.
    label_width = min(max((len(s) for s in labels), default=4) * CHAR_WIDTH * 1.1 + 16, 256.0)
    height = top + row * max(len(bars), 1) + bottom
    values = [0.0] + [v for b in bars for v in (b.value, b.threshold) if v is not None]
    values += [threshold] if threshold is not None else []
    # 70 px on the right leave room for the value labels that follow each bar.
    x = _Scale(values, label_width, width - 70.0)
    full_title = title or f"{len(bars)} bars"
    parts = [*_open(width, height, full_title)]
    axis_y = top + row * max(len(bars), 1)
    parts += _x_axis(x, axis_y, top - 4)
    for i, (bar, label) in enumerate(zip(bars, labels, strict=True)):
        y = top + i * row
        colour = NEUTRAL if bar.failed is None else FAIL if bar.failed else PASS
        weight = ' font-weight="600"' if bar.failed else ""
        parts.append(f"<g><title>{_e(bar.label)}: {_e(format_number(bar.value))}</title>")
        parts.append(
            _text(label_width - 8, y + 15, label, anchor="end", fill=FAIL if bar.failed else INK, extra=weight)
        )
        if bar.value is not None and math.isfinite(bar.value):
            x0, x1 = x(0.0), x(bar.value)
            parts.append(
                f'<rect x="{min(x0, x1):.1f}" y="{y + 4:.1f}" width="{max(abs(x1 - x0), 1):.1f}" '
                f'height="14" fill="{colour}" rx="2"/>'
            )
            mark = "✗ " if bar.failed else ""
            parts.append(_text(max(x0, x1) + 5, y + 15, mark + format_number(bar.value), fill=colour, extra=weight))
        else:
            parts.append(_text(x(0.0) + 5, y + 15, MISSING, fill=MUTED))
        if bar.threshold is not None and bar.threshold != threshold and math.isfinite(bar.threshold):
            tx = x(bar.threshold)
            parts.append(
                f'<line x1="{tx:.1f}" y1="{y + 1:.1f}" x2="{tx:.1f}" y2="{y + 21:.1f}" stroke="{INK}" '
                'stroke-width="2"/>'
            )
        parts.append("</g>")
    if threshold is not None and math.isfinite(threshold):
        tx = x(threshold)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 10:.1f}" x2="{tx:.1f}" y2="{axis_y:.1f}" stroke="{FAIL}" '
            'stroke-width="1.5" stroke-dasharray="5 3"/>'
        )
        parts.append(_threshold_label(tx, top - 14, width, f"{threshold_label} {format_number(threshold)}", FAIL))
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    reference_counts: Sequence[float] | None = None,
    title: str = "",
    width: int = 640,
) -> str:
    """Vertical bars over bin ``edges`` (one more edge than counts); ``reference_counts`` overlays an outline.

    Bins are drawn side by side at equal width and the axis labels their edges: drift bins are often
    quantiles or open-ended (±inf), and a true-scale axis would make wide bins look like large counts.
    Raises ValueError when the edges and counts do not fit together.
    """
    if len(edges) != len(counts) + 1 or not counts or any(math.isnan(e) for e in edges):
        raise ValueError(f"a histogram needs one more edge than counts; got {len(edges)} edges, {len(counts)} counts")
    if not all(math.isfinite(c) for c in counts):
        raise ValueError("a histogram needs finite counts")
    height, left, right, top, axis_y = 200, 48.0, width - 16.0, 24.0, 166.0
    reference = list(reference_counts) if reference_counts is not None and len(reference_counts) == len(counts) else []
    step = (right - left) / len(counts)
    # The y scale is the same helper mapped upside down: larger counts higher up.
    y = _Scale([0.0, *counts, *reference], axis_y, top, ticks=4)
    summary = title or f"Histogram of {len(counts)} bins"
    parts = [*_open(width, height, summary + (" with reference outline" if reference else ""))]
    for tick in y.ticks:
        parts.append(
            f'<line x1="{left:.1f}" y1="{y(tick):.1f}" x2="{right:.1f}" y2="{y(tick):.1f}" stroke="{GRID}" '
            'stroke-width="0.5"/>'
        )
        parts.append(_text(left - 6, y(tick) + 4, _tick_label(tick), anchor="end", fill=MUTED))
    for i, count in enumerate(counts):
        bin_text = f"[{format_number(edges[i])}, {format_number(edges[i + 1])}): {format_number(count)}"
        parts.append(
            f'<rect x="{left + i * step + 0.5:.1f}" y="{y(count):.1f}" width="{max(step - 1, 0.5):.1f}" '
            f'height="{axis_y - y(count):.1f}" fill="{NEUTRAL}" fill-opacity="0.8"><title>{_e(bin_text)}'
            "</title></rect>"
        )
    if reference:
        points = [f"{left:.1f},{axis_y:.1f}"]
        for i, count in enumerate(reference):
            points += [f"{left + i * step:.1f},{y(count):.1f}", f"{left + (i + 1) * step:.1f},{y(count):.1f}"]
        points.append(f"{right:.1f},{axis_y:.1f}")
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
        parts.append(
            f'<line x1="{right - 150:.1f}" y1="10" x2="{right - 132:.1f}" y2="10" stroke="{INK}" stroke-width="1.5"/>'
        )
        parts.append(_text(right - 128, 14, "reference", fill=INK))
        parts.append(f'<rect x="{right - 66:.1f}" y="5" width="12" height="10" fill="{NEUTRAL}" fill-opacity="0.8"/>')
        parts.append(_text(right - 50, 14, "current", fill=INK))
    parts.append(f'<line x1="{left:.1f}" y1="{axis_y:.1f}" x2="{right:.1f}" y2="{axis_y:.1f}" stroke="{MUTED}"/>')
    labels = [_tick_label(e) if math.isfinite(e) else format_number(e) for e in edges]
    # Label every k-th edge so that neighbouring labels do not overlap.
    every = max(1, math.ceil((max(len(t) for t in labels) * CHAR_WIDTH + 8) / step))
    # Prefer a spacing that also lands on the last edge, so that both ends of the range are labelled.
    every = next((k for k in range(every, 2 * every + 1) if len(counts) % k == 0), every)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + i * step
            parts.append(f'<line x1="{x:.1f}" y1="{axis_y:.1f}" x2="{x:.1f}" y2="{axis_y + 4:.1f}" stroke="{MUTED}"/>')
            parts.append(_text(x, axis_y + 16, label, anchor="middle", fill=MUTED))
    parts.append(_text(left - 6, top - 10, "count", anchor="end", fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


# --- charts over time (monitor reports) ------------------------------------------------------------------------

_SECOND, _MINUTE, _HOUR, _DAY = 1000, 60_000, 3_600_000, 86_400_000
_STEPS = [s * _SECOND for s in (1, 5, 15, 30)] + [m * _MINUTE for m in (1, 5, 10, 15, 30)]
_STEPS += [h * _HOUR for h in (1, 2, 3, 6, 12)] + [d * _DAY for d in (1, 2, 7, 14, 30, 91, 365)]
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
            parts.append(_text(x, y + 14, label, anchor="middle", fill=MUTED))
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
            parts.append(_text(left - 6, y + 4, self.label(tick), anchor="end", fill=MUTED))
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
        parts.append(_text(tx, axis_y + 14, f"{tick:.0%}", anchor="middle", fill=MUTED))
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


# --- small charts for notebook tables ---------------------------------------------------------------------------


def sparkline(
    counts: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    reference: Sequence[float] | None = None,
    title: str = "",
    width: int = 120,
    height: int = 28,
) -> str:
    """A histogram small enough for a table cell: bars without axes; the titles carry the numbers.

    ``labels`` name each bar in its tooltip (a range, a category); ``reference`` (as many values
    as ``counts``, on the same scale, such as shares beside shares) is outlined over the bars. Returns ""
    when there is nothing to draw (no counts, or counts that are not finite numbers), so that a caller shows
    a dash instead.
    """
    values = [float(c) for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    if not values or len(values) != len(counts) or not all(math.isfinite(v) and v >= 0 for v in values):
        return ""
    outline = [float(r) for r in reference or () if isinstance(r, int | float) and math.isfinite(r)]
    outline = outline if len(outline) == len(values) else []
    names = [str(label) for label in labels] if labels is not None and len(labels) == len(values) else None
    top = max([*values, *outline]) or 1.0
    step = width / len(values)
    summary = title or f"Histogram of {len(values)} bins"
    parts = _open(width, height, summary + (" with reference outline" if outline else ""), "chart spark")
    for i, value in enumerate(values):
        bar = (height - 2) * value / top
        label = names[i] if names else f"bin {i + 1}"
        parts.append(
            f'<rect x="{i * step + 0.5:.1f}" y="{height - 1 - bar:.1f}" width="{max(step - 1, 0.5):.1f}" '
            f'height="{bar:.1f}" fill="{NEUTRAL}" fill-opacity="0.8"><title>{_e(label)}: {_e(format_number(value))}'
            "</title></rect>"
        )
    if outline:
        points = [f"0.0,{height - 1:.1f}"]
        for i, value in enumerate(outline):
            y = height - 1 - (height - 2) * value / top
            points += [f"{i * step:.1f},{y:.1f}", f"{(i + 1) * step:.1f},{y:.1f}"]
        points.append(f"{width:.1f},{height - 1:.1f}")
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{INK}" stroke-width="1"/>')
    parts.append(f'<line x1="0" y1="{height - 0.5:.1f}" x2="{width}" y2="{height - 0.5:.1f}" stroke="{MUTED}"/>')
    parts.append("</svg>")
    return "".join(parts)


def numeric_bins(labels: Sequence[str]) -> bool:
    """True when the bins between "< min" and "> max" are all ranges of plain numbers, as the drift statistics
    label a numeric column's bins: those read best as a histogram over counts; single values (a column of few
    distinct values) and dates read better as the labels say, drawn as categories."""
    try:
        return all(s.startswith("[") and [float(x) for x in s[1:-1].split(", ")] for s in labels[1:-1])
    except ValueError:
        return False
