"""Render a gate verdict for people: a self-contained HTML report, a pull-request comment, terminal lines.

>>> html = render_html(verdict)               # one offline document: inline CSS and SVG, no script
>>> comment = render_markdown(verdict)        # GitHub-flavoured: one header line and a table of checks
>>> for line in render_text_lines(verdict):  # one plain line per check; the CLI adds colour
...     print(line)

The input is the verdict as a plain (JSON-ready) dict. Rendering is tolerant: a missing optional key is
shown as "—" or left out, evidence that is not recognised is shown as JSON, and every string from the
verdict is escaped, since check names and messages are user-provided. Checks are listed worst first
(fail, error, warn, pass), keeping their given order within a status.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from shipyard.core._svg import Bar, bar_chart, format_number, histogram, interval_plot

__all__ = ["render_html", "render_markdown", "render_text_lines"]

STATUSES = ("fail", "error", "warn", "pass")
_LABEL = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "error": "ERROR"}
_EMOJI = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "⛔"}
_ICON = {"pass": "✓", "fail": "✗", "warn": "!", "error": "⊘"}
_MAX_ROWS = 50  # table evidence rows shown; the rest are counted
_MAX_BARS = 40  # slices drawn; failing ones are always among them
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Verdict = Mapping[str, Any]


# ---------------------------------------------------------------------------------------------- reading


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _status(check: Mapping[str, Any]) -> str:
    status = str(check.get("status", "")).lower()
    return status if status in _LABEL else "error"


def _checks(verdict: Verdict) -> list[Mapping[str, Any]]:
    """The verdict's checks, worst status first; anything that is not a mapping is skipped."""
    checks = [_map(c) for c in verdict.get("checks") or () if isinstance(c, Mapping)]
    return sorted(checks, key=lambda c: STATUSES.index(_status(c)))


def _counts(checks: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    # Counted from the checks shown rather than read from "summary", so the header always matches the table.
    return {status: sum(_status(c) == status for c in checks) for status in STATUSES}


def _passed(verdict: Verdict, counts: Mapping[str, int]) -> bool:
    passed = verdict.get("passed")
    return passed if isinstance(passed, bool) else counts["fail"] == counts["error"] == 0


def _ref(entry: object) -> str:
    entry = _map(entry)
    name, version = entry.get("name"), entry.get("version")
    if name is None:
        return "—"
    return f"{name}@{version}" if version is not None else str(name)


def _value(value: object) -> str:
    """A measured or threshold value on one line: numbers formatted, mappings as ``key=value`` pairs."""
    if isinstance(value, Mapping):
        return ", ".join(_pair(str(k), v) for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return format_number(value)


def _pair(key: str, value: object) -> str:
    # The two bounds every threshold has read better as comparisons than as "min=0.8".
    if key == "min":
        return f"≥ {_value(value)}"
    if key == "max":
        return f"≤ {_value(value)}"
    return f"{key}={_value(value)}"


def _when(created_at: object) -> str:
    millis = _number(created_at)
    if millis is None:
        return str(created_at) if created_at else "—"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(check: Mapping[str, Any]) -> str:
    millis = _number(check.get("duration_ms"))
    if millis is None:
        return ""
    return f"{format_number(millis)} ms" if millis < 1000 else f"{format_number(millis / 1000)} s"


def _count_phrase(counts: Mapping[str, int], total: int, passed: bool) -> str:
    if passed:
        phrase = f"{counts['pass']} of {total} checks passed"
    else:
        phrase = f"{counts['fail']} of {total} checks failed"
        phrase += f", {counts['error']} could not run" if counts["error"] else ""
    if counts["warn"]:
        phrase += f", {counts['warn']} warning" + ("s" if counts["warn"] > 1 else "")
    return phrase


# ---------------------------------------------------------------------------------------------- terminal


def _plain(text: object) -> str:
    """One line without control characters, so a check name cannot move the cursor or colour the terminal."""
    return _CONTROL.sub(" ", str(text))


def render_text_lines(verdict: Verdict) -> list[str]:
    """One plain line per check, columns aligned: name, measured, threshold, PASS/FAIL/WARN/ERROR, message.

    >>> render_text_lines(verdict)[0]
    'min_metric:roc_auc  roc_auc=0.78  ≥ 0.8  FAIL  roc_auc 0.780 < 0.800'
    """
    rows = [
        (
            _plain(c.get("name", c.get("kind", "?"))),
            _plain(_value(c.get("measured"))),
            _plain(_value(c.get("threshold"))),
            _LABEL[_status(c)],
            _plain(c.get("message", "")),
        )
        for c in _checks(verdict)
    ]
    widths = [min(max((len(r[i]) for r in rows), default=0), 40) for i in range(4)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4]]).rstrip() for row in rows
    ]


# ---------------------------------------------------------------------------------------------- markdown


def _md(text: object) -> str:
    """Text for a table cell: Markdown and HTML punctuation escaped, one line."""
    return re.sub(r"([\\`*_\[\]<>|#~])", r"\\\1", " ".join(str(text).split()))


def _md_code(text: object) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _short_digest(entry: object) -> str:
    digest = str(_map(entry).get("digest") or "—")
    algorithm, _, hexdigest = digest.rpartition(":")
    return f"{algorithm}:{hexdigest[:12]}" if algorithm and len(hexdigest) > 12 else digest


def render_markdown(verdict: Verdict) -> str:
    """A compact pull-request comment: a one-line header, a table of checks (worst first), the report command.

    >>> print(render_markdown(verdict).splitlines()[0])
    ❌ Gate **FAILED** for churn@7 on churn-eval@3 (2 of 12 checks failed)
    """
    checks = _checks(verdict)
    counts = _counts(checks)
    passed = _passed(verdict, counts)
    model, data = _map(verdict.get("model")), _map(verdict.get("data"))
    lines = [
        f"{_EMOJI['pass' if passed else 'fail']} Gate **{'PASSED' if passed else 'FAILED'}** for "
        f"{_md(_ref(model))} on {_md(_ref(data))} ({_count_phrase(counts, len(checks), passed)})",
        "",
        "| | Check | Measured | Threshold | Result |" if checks else "No checks ran.",
    ]
    lines += ["| --- | --- | --- | --- | --- |"] if checks else []
    for check in checks:
        status = _status(check)
        message = " ".join(str(check.get("message", "")).split())
        message = message if len(message) <= 160 else message[:159] + "…"
        lines.append(
            f"| {_EMOJI[status]} {status} | {_md_code(check.get('name', check.get('kind', '?')))} "
            f"| {_md(_value(check.get('measured')))} | {_md(_value(check.get('threshold')))} | {_md(message)} |"
        )
    champion = _ref(verdict.get("champion")) if verdict.get("champion") else "none"
    details = [
        f"model {_md_code(_short_digest(model))}",
        f"data {_md_code(_short_digest(data))}",
        f"policy {_md_code(_short_digest(verdict.get('policy')))}",
        f"champion {_md(champion)}",
    ]
    if verdict.get("shipyard_version"):
        details.append(f"shipyard {_md(verdict['shipyard_version'])}")
    lines += ["", "<sub>" + " · ".join(details) + "</sub>"]
    if verdict.get("report_command"):
        lines += ["", f"Full report: {_md_code(verdict['report_command'])}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- HTML


def _e(text: object) -> str:
    return escape(str(text), quote=True)


_CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --error: #8250df; --ink: #1f2328; --muted: #656d76;
  --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 0; display: inline; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.banner { border-radius: 6px; padding: 14px 18px; color: #fff; font-size: 18px; font-weight: 700; }
.banner.passed { background: var(--pass); } .banner.failed { background: var(--fail); }
.banner small { display: block; font-size: 14px; font-weight: 400; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 16px 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; }
.badge { display: inline-block; white-space: nowrap; min-width: 62px; padding: 1px 8px; border-radius: 10px;
  color: #fff; font-size: 12px; font-weight: 700; text-align: center; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
.badge.warn { background: var(--warn); } .badge.error { background: var(--error); }
tr.fail td:first-child, tr.error td:first-child { box-shadow: inset 3px 0 var(--fail); }
.check { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 12px 0;
  break-inside: avoid; }
.check.fail, .check.error { border-left: 4px solid var(--fail); }
.check.warn { border-left: 4px solid var(--warn); }
.check .aside { color: var(--muted); font-size: 12px; margin-left: 8px; }
.check p { margin: 6px 0; }
.evidence { margin-top: 10px; } .evidence h4 { font-size: 13px; margin: 8px 0 4px; color: var(--muted); }
.evidence table { width: auto; font-size: 12px; }
svg.chart { display: block; max-width: 100%; height: auto; }
pre { background: var(--soft); padding: 8px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
@media print {
  body { padding: 0; max-width: none; }
  .banner, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""


def _evidence_interval(interval: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    low, high = _number(interval.get("low")), _number(interval.get("high"))
    if low is None or high is None:
        return ""
    estimate = next((_number(interval[k]) for k in ("difference", "estimate", "value") if k in interval), None)
    threshold, label = _number(interval.get("threshold")), "threshold"
    limits = _map(check.get("threshold"))
    max_drop = _number(limits.get("max_drop"))
    if threshold is None and max_drop is not None:
        # A drop is measured as candidate − champion, so its line sits at −max_drop.
        threshold, label = -max_drop, "−max_drop"
    elif threshold is None:
        threshold = next((_number(limits[k]) for k in ("min", "max") if k in limits), None)
    is_difference = "difference" in interval or low <= 0 <= high
    status = _status(check)
    return interval_plot(
        low,
        high,
        estimate=estimate,
        threshold=threshold,
        threshold_label=label,
        confidence=_number(interval.get("confidence")),
        subject="difference" if is_difference else "estimate",
        zero_line=is_difference,
        passed=None if status == "error" else status == "pass",
    )


def _evidence_slices(slices: Sequence[Any]) -> str:
    rows = [_map(s) for s in slices if isinstance(s, Mapping)]
    if not rows:
        return ""
    failing = [r for r in rows if r.get("passed") is False]
    shown = rows if len(rows) <= _MAX_BARS else failing + [r for r in rows if r.get("passed") is not False]
    shown = shown[: max(_MAX_BARS, len(failing))]
    bars = [
        Bar(
            label=str(r.get("slice", "?")),
            value=_number(r.get("value")),
            failed=None if not isinstance(r.get("passed"), bool) else not r["passed"],
            threshold=_number(r.get("threshold")),
            note=f"n={format_number(r['rows'])}" if r.get("rows") is not None else "",
        )
        for r in shown
    ]
    floors = {b.threshold for b in bars if b.threshold is not None}
    shared = floors.pop() if len(floors) == 1 else None
    title = f"{len(failing)} of {len(rows)} slices below their threshold"
    svg = bar_chart(bars, threshold=shared, title=title)
    more = len(rows) - len(shown)
    return svg + (f"<p>{more} more slices not drawn; all of them passed.</p>" if more else "")


def _reals(values: object) -> list[float] | None:
    """A non-empty list of numbers (±inf allowed: open-ended bins), or None if it is not one."""
    if not isinstance(values, list | tuple) or not values:
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v) for v in values):
        return None
    return [float(v) for v in values]


def _evidence_histogram(data: Mapping[str, Any]) -> str:
    edges, counts = _reals(data.get("edges")), _reals(data.get("counts"))
    if edges is None or counts is None:
        return ""
    title = str(data.get("title") or f"Histogram of {len(counts)} bins")
    try:
        return histogram(edges, counts, reference_counts=_reals(data.get("reference_counts")), title=title)
    except ValueError:  # edges and counts that do not fit together: shown as raw evidence instead
        return ""


def _evidence_table(rows: Sequence[Any]) -> str:
    records = [r if isinstance(r, Mapping) else {"value": r} for r in rows]
    columns = list(dict.fromkeys(k for r in records for k in r))
    if not columns:
        return ""
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_value(r.get(c)))}</td>" for c in columns) + "</tr>" for r in records[:_MAX_ROWS]
    )
    more = len(records) - _MAX_ROWS
    note = f"<p>{more} more rows not shown.</p>" if more > 0 else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


_EVIDENCE: dict[str, tuple[str, Callable[[Any, Mapping[str, Any]], str]]] = {
    "interval": ("Confidence interval", lambda v, c: _evidence_interval(_map(v), c)),
    "slices": ("Slices", lambda v, c: _evidence_slices(v) if isinstance(v, list) else ""),
    "histogram": ("Histogram", lambda v, c: _evidence_histogram(_map(v))),
    "table": ("Table", lambda v, c: _evidence_table(v) if isinstance(v, list) else ""),
}


def _evidence(check: Mapping[str, Any]) -> str:
    evidence = _map(check.get("evidence"))
    parts: list[str] = []
    other: dict[str, Any] = {}
    for key, value in evidence.items():
        known = _EVIDENCE.get(key)
        html = known[1](value, check) if known else ""
        if known and html:
            parts.append(f"<h4>{known[0]}</h4>{html}")
        else:
            other[key] = value
    if other:
        text = json.dumps(other, indent=2, default=str, ensure_ascii=False)
        parts.append(f"<details><summary>Other evidence</summary><pre>{_e(text)}</pre></details>")
    return f'<div class="evidence">{"".join(parts)}</div>' if parts else ""


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{_ICON[status]} {_LABEL[status]}</span>'


def _check_section(index: int, check: Mapping[str, Any]) -> str:
    status = _status(check)
    aside = " · ".join(
        _e(s)
        for s in (check.get("kind"), check.get("severity") and f"severity {check['severity']}", _duration(check))
        if s
    )
    return (
        f'<section class="check {status}" id="check-{index}">{_badge(status)} '
        f'<h3>{_e(check.get("name", check.get("kind", "?")))}</h3><span class="aside">{aside}</span>'
        f"<p>{_e(check.get('message') or '')}</p>"
        f"<p><strong>Measured</strong> {_e(_value(check.get('measured')))} · "
        f"<strong>Threshold</strong> {_e(_value(check.get('threshold')))}</p>"
        f"{_evidence(check)}</section>"
    )


def _meta(verdict: Verdict) -> str:
    model, data, policy = _map(verdict.get("model")), _map(verdict.get("data")), _map(verdict.get("policy"))
    model_extra = ", ".join(f"{k} {model[k]}" for k in ("flavor", "run_id") if model.get(k))
    rows = [
        ("Model", _ref(model) + (f" ({model_extra})" if model_extra else ""), model.get("digest")),
        (
            "Data",
            _ref(data) + (f" ({format_number(data['rows'])} rows)" if data.get("rows") is not None else ""),
            data.get("digest"),
        ),
        ("Policy", str(policy.get("source") or "—"), policy.get("digest")),
        ("Champion", _ref(verdict.get("champion")) if verdict.get("champion") else "none", None),
        ("Created", _when(verdict.get("created_at")), None),
    ]
    cells = "".join(
        f"<dt>{name}</dt><dd>{_e(text)}" + (f" <code>{_e(digest)}</code>" if digest else "") + "</dd>"
        for name, text, digest in rows
    )
    return f'<dl class="meta">{cells}</dl>'


def _checks_table(checks: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f'<tr class="{_status(c)}"><td>{_badge(_status(c))}</td>'
        f'<td><a href="#check-{i}">{_e(c.get("name", c.get("kind", "?")))}</a></td>'
        f'<td class="num">{_e(_value(c.get("measured")))}</td><td class="num">{_e(_value(c.get("threshold")))}</td>'
        f"<td>{_e(c.get('message') or '')}</td></tr>"
        for i, c in enumerate(checks, 1)
    )
    head = "<tr><th>Status</th><th>Check</th><th>Measured</th><th>Threshold</th><th>Message</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"


def render_html(verdict: Verdict) -> str:
    """One complete, offline HTML document: a PASS/FAIL banner, digests, a table of checks, a section per check.

    The markup is also well-formed XML (XHTML-compatible), with inline CSS and SVG and no script.
    """
    checks = _checks(verdict)
    counts = _counts(checks)
    passed = _passed(verdict, counts)
    word = "PASSED" if passed else "FAILED"
    subject = f"{_ref(verdict.get('model'))} on {_ref(verdict.get('data'))}"
    banner = (
        f'<div class="banner {word.lower()}" role="status">{"✓" if passed else "✗"} Gate {word}'
        f"<small>{_e(subject)}: {_e(_count_phrase(counts, len(checks), passed))}</small></div>"
    )
    sections = "".join(_check_section(i, c) for i, c in enumerate(checks, 1))
    footer = " · ".join(
        _e(s)
        for s in (
            f"verdict {verdict.get('id')}" if verdict.get("id") else "",
            f"Shipyard {verdict['shipyard_version']}" if verdict.get("shipyard_version") else "",
        )
        if s
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>Gate {word}: {_e(subject)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Release gate: {_e(subject)}</h1>{banner}{_meta(verdict)}</header>"
        f"<main><h2>Checks</h2>{_checks_table(checks) if checks else '<p>No checks ran.</p>'}"
        f"<h2>Details</h2>{sections}</main><footer>{footer}</footer></body></html>\n"
    )
