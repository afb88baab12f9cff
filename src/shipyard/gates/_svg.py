"""Small inline-SVG charts for gate reports: an interval plot, horizontal bars with a threshold, a histogram.

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
from html import escape

__all__ = ["Bar", "bar_chart", "format_number", "histogram", "interval_plot", "nice_ticks"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
FONT_SIZE = 11
CHAR_WIDTH = FONT_SIZE * 0.62  # a generous average for proportional sans-serif digits and letters
INK = "#1f2328"
MUTED = "#656d76"
GRID = "#d0d7de"
PASS = "#1a7f37"
FAIL = "#cf222e"
NEUTRAL = "#0969da"
MISSING = "—"


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


def _open(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{width:.0f}" height="{height:.0f}" '
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
