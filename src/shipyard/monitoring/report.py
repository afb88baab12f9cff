"""Monitor reports: what a monitor saw over its latest windows, as one offline HTML file or as JSON.

>>> windows = client.backend.monitors.windows("default", "churn-drift", limit=168)
>>> alerts = client.backend.monitors.alerts("default", monitor="churn-drift")
>>> html = render_html(spec, windows, alerts)        # `shipyard monitor report churn-drift --html drift.html`
>>> data = build_report(spec, windows, alerts)       # the same content as plain JSON-ready data (`--json`)

The HTML shows a header (model, window size, period, windows by status, unresolved alerts), a strip of
each rule's outcomes over time, and for each monitored column its drift statistic per window against the
threshold beside the latest judged window's histogram; then missing and out-of-domain shares per column,
every window with its rules' messages, and the alerts. A p-value test (KS, chi²) is charted as its p-value
on a log scale — the significance level is the threshold, so drift is a dot below the line; a distance
(Wasserstein, PSI, Jensen–Shannon, L∞) is charted as is, drift on or above the line. A column judged by
different methods in different windows (``method = "auto"`` follows the window's size) gets one panel per
method. Inline CSS and SVG, no script, no URL; every text from the store is escaped, and the document is
well-formed XML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from shipyard.core._html import utc
from shipyard.core._svg import (
    SKIPPED,
    Cell,
    Panel,
    Point,
    category_bars,
    format_number,
    histogram,
    numeric_bins,
    outcome_strip,
    time_chart,
)
from shipyard.monitoring.rules import FAIL, INSUFFICIENT, PASS

if TYPE_CHECKING:
    from shipyard.core.entities import Alert, WindowRecord
    from shipyard.monitoring.config import MonitorSpec

__all__ = ["build_report", "render_html"]

WINDOW_STATUSES = (FAIL, PASS, INSUFFICIENT)
_DRIFT_KINDS = ("feature_drift", "prediction_drift")
P_VALUE_METHODS = ("ks", "chi2")
_STATISTIC = {
    "ks": "KS p-value",
    "chi2": "chi² p-value",
    "wasserstein": "Wasserstein distance (in reference std)",
    "psi": "PSI",
    "jensen_shannon": "Jensen–Shannon distance",
    "linf": "L∞ (largest change of a share)",
}
_LABEL = {"pass": "PASS", "fail": "FAIL", "insufficient_data": "NO DATA", "drift": "DRIFT", "no_drift": "OK"}


# ---------------------------------------------------------------------------------------------- data


def build_report(spec: MonitorSpec, windows: Sequence[WindowRecord], alerts: Sequence[Alert]) -> dict[str, Any]:
    """The report's content as JSON-ready data: what ``render_html`` draws, and what ``--json`` prints.

    ``windows`` oldest first (as ``MonitorStore.windows`` returns them); of ``alerts``, the unresolved ones
    and those resolved during the period covered are kept.
    """
    ordered = sorted(windows, key=lambda w: (w.start_at, w.end_at))
    start = ordered[0].start_at if ordered else None
    rules = _rules(spec, ordered)
    kept = [a for a in alerts if a.state != "resolved" or (start is not None and (a.resolved_at or 0) >= start)]
    return {
        "monitor": spec.name,
        "model": spec.model,
        "window": spec.describe_window(),
        "source": spec.source,
        "period": {"start_at": start, "end_at": ordered[-1].end_at} if ordered else None,
        "versions": sorted({w.version for w in ordered if w.version is not None}),
        "counts": {status: sum(w.status == status for w in ordered) for status in WINDOW_STATUSES},
        "rules": rules,
        "columns": _columns(rules, ordered),
        "windows": [
            {
                "start_at": w.start_at,
                "end_at": w.end_at,
                "rows": w.rows,
                "status": w.status,
                "version": w.version,
                "rules": {
                    name: {"status": r.get("status"), "message": r.get("message", "")}
                    for name, r in _rule_results(w).items()
                },
            }
            for w in ordered
        ],
        "alerts": [a.to_dict() for a in kept],
    }


def _rule_results(window: WindowRecord) -> Mapping[str, Mapping[str, Any]]:
    found = window.results.get("rules")
    return {k: v for k, v in found.items() if isinstance(v, Mapping)} if isinstance(found, Mapping) else {}


def _drift(window: WindowRecord, rule: str) -> Mapping[str, Any]:
    reports = window.results.get("drift")
    report = reports.get(rule) if isinstance(reports, Mapping) else None
    columns = report.get("columns") if isinstance(report, Mapping) else None
    return columns if isinstance(columns, Mapping) else {}


def _rules(spec: MonitorSpec, windows: Sequence[WindowRecord]) -> list[dict[str, Any]]:
    """The configured rules, then rules that only older windows know (renamed or removed since)."""
    rules = [{"name": r.name, "kind": r.kind, "configured": True} for r in spec.rules]
    known = {r.name for r in spec.rules}
    for window in windows:
        for name, result in _rule_results(window).items():
            if name not in known:
                known.add(name)
                rules.append({"name": name, "kind": str(result.get("kind", "?")), "configured": False})
    return rules


def _columns(rules: Sequence[Mapping[str, Any]], windows: Sequence[WindowRecord]) -> list[dict[str, Any]]:
    """Each compared column once: its statistic per window from the first drift rule that watches it."""
    ranked = sorted(rules, key=lambda r: r["kind"] not in _DRIFT_KINDS)  # stable: drift rules first
    owner: dict[str, Mapping[str, Any]] = {}
    for rule in ranked:
        for window in windows:
            for column in _drift(window, rule["name"]):
                owner.setdefault(str(column), rule)
    return [_column(name, rule, windows) for name, rule in owner.items()]


def _column(name: str, rule: Mapping[str, Any], windows: Sequence[WindowRecord]) -> dict[str, Any]:
    keys = ("method", "value", "p_value", "threshold", "status", "rows", "missing_share", "out_of_domain_share")
    series: list[dict[str, Any]] = []
    kind = None
    latest: dict[str, Any] | None = None  # the histogram of the latest judged window (else of the latest one)
    for window in windows:
        span = {"start_at": window.start_at, "end_at": window.end_at}
        entry = _drift(window, rule["name"]).get(name)
        if not isinstance(entry, Mapping):  # the rule computed no drift on this window: say why
            reason = _rule_results(window).get(rule["name"], {}).get("message", "not evaluated")
            series.append({**span, **dict.fromkeys(keys), "status": INSUFFICIENT, "rows": window.rows,
                           "note": str(reason)})  # fmt: skip
            continue
        series.append({**span, **{k: entry.get(k) for k in keys}})
        kind = kind or entry.get("kind")
        found = entry.get("histogram")
        judged = entry.get("status") != INSUFFICIENT
        if isinstance(found, Mapping) and found.get("labels") and (judged or latest is None or not latest["judged"]):
            latest = {**span, "rows": entry.get("rows"), "judged": judged, **found}
            latest["reference_missing_share"] = entry.get("reference_missing_share")
    return {"column": name, "rule": rule["name"], "kind": kind, "series": series, "histogram": latest}


# ---------------------------------------------------------------------------------------------- HTML


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _share(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) and not isinstance(value, bool) else "—"


def _badge(status: object) -> str:
    text = str(status)
    return f'<span class="badge {_e(text)}">{_e(_LABEL.get(text, text))}</span>'


_CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --ink: #1f2328; --muted: #656d76; --line: #d0d7de;
  --soft: #f6f8fa; --none: #8c959f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 0; display: inline; }
.banner { border-radius: 6px; padding: 12px 18px; color: #fff; font-size: 17px; font-weight: 700; }
.banner.calm { background: var(--pass); } .banner.alerting { background: var(--fail); }
.banner.empty { background: var(--none); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 16px 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; } td.num { font-variant-numeric: tabular-nums; }
tr.fail td:first-child, tr.open td:first-child { box-shadow: inset 3px 0 var(--fail); }
.badge { display: inline-block; white-space: nowrap; min-width: 56px; padding: 1px 8px; border-radius: 10px;
  color: #fff; font-size: 12px; font-weight: 700; text-align: center; }
.badge.pass, .badge.no_drift, .badge.resolved { background: var(--pass); }
.badge.fail, .badge.drift, .badge.open { background: var(--fail); }
.badge.acknowledged { background: var(--warn); } .badge.insufficient_data { background: var(--none); }
.column { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; margin: 12px 0;
  break-inside: avoid; }
.column.drifting { border-left: 4px solid var(--fail); }
.column .aside, .note { color: var(--muted); font-size: 12px; margin-left: 8px; }
.plots { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; align-items: start; margin-top: 8px; }
.plots p { margin: 0; font-size: 12px; color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; }
ul.rules { margin: 0; padding-left: 16px; } footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
@media print { body { padding: 0; max-width: none; }
  .banner, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def render_html(spec: MonitorSpec, windows: Sequence[WindowRecord], alerts: Sequence[Alert]) -> str:
    """One complete offline HTML document (well-formed XML too) of the monitor's windows and alerts."""
    data = build_report(spec, windows, alerts)
    title = f"Monitor {data['monitor']}: {data['model']}"
    if data["windows"]:
        body = (
            f"<h2>Rules over time</h2>{_strip(data)}<h2>Columns</h2>"
            + "".join(_column_section(i, c, data) for i, c in enumerate(data["columns"], 1))
            + ("" if data["columns"] else "<p>No rule of this monitor compares columns (no drift reports stored).</p>")
            + f"<h2>Data quality</h2>{_quality_table(data['columns'])}"
            + f"<h2>Windows</h2>{_windows_table(data)}"
        )
    else:
        body = (
            '<p class="empty">No window of this monitor has been evaluated yet: run <code>shipyard monitor run</code> '
            "once its first window is complete.</p>"
        )
    body += f"<h2>Alerts</h2>{_alerts_table(data['alerts'])}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>{_banner(data)}{_meta(data)}</header><main>{body}</main>"
        f"<footer>{_e(data['monitor'])} · {len(data['windows'])} windows · from {_e(data['source'])}</footer>"
        "</body></html>\n"
    )


def _unresolved(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in data["alerts"] if a["state"] != "resolved"]


def _banner(data: Mapping[str, Any]) -> str:
    unresolved = _unresolved(data)
    if unresolved:
        rules = ", ".join(dict.fromkeys(a["rule"] for a in unresolved))
        return f'<div class="banner alerting" role="status">✗ {len(unresolved)} unresolved alert(s): {_e(rules)}</div>'
    if not data["windows"]:
        return '<div class="banner empty" role="status">No windows evaluated yet</div>'
    latest = data["windows"][-1]["status"]
    text = f"✓ No unresolved alerts · latest window {_LABEL.get(latest, latest)}"
    return f'<div class="banner calm" role="status">{_e(text)}</div>'


def _meta(data: Mapping[str, Any]) -> str:
    period = data["period"]
    counts = data["counts"]
    states = [a["state"] for a in data["alerts"]]
    rows = [
        ("Model", data["model"]),
        ("Versions served", ", ".join(map(str, data["versions"])) or "—"),
        ("Window", data["window"]),
        ("Period", f"{utc(period['start_at'])} – {utc(period['end_at'])}" if period else "—"),
        (
            "Windows",
            f"{len(data['windows'])}: {counts['fail']} failed, {counts['pass']} passed, "
            f"{counts['insufficient_data']} with insufficient data",
        ),
        ("Alerts", f"{states.count('open')} open, {states.count('acknowledged')} acknowledged"),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _strip(data: Mapping[str, Any]) -> str:
    period = data["period"]
    rows = []
    for rule in data["rules"]:
        cells = []
        for w in data["windows"]:
            result = w["rules"].get(rule["name"])
            if result is not None:
                note = f"{utc(w['start_at'])} · {w['rows']:,} rows · {result['status']}: {result['message']}"
                cells.append(Cell(w["start_at"], w["end_at"], str(result["status"]), note))
        label = rule["name"] + ("" if rule["configured"] else " (no longer configured)")
        rows.append((label, cells))
    title = f"Outcome of each rule per window from {utc(period['start_at'])} to {utc(period['end_at'])}"
    legend = '<p class="note">Green: pass · red: fail · grey: insufficient data · blank: not evaluated.</p>'
    return outcome_strip(rows, start=period["start_at"], end=period["end_at"], title=title) + legend


def _column_section(index: int, column: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    judged = [s for s in column["series"] if s["status"] != INSUFFICIENT]
    drifted = sum(s["status"] == "drift" for s in judged)
    latest = judged[-1] if judged else None
    aside = f"rule {column['rule']} · {column['kind'] or 'unknown kind'} · "
    aside += f"drifted in {drifted} of {len(judged)} judged windows"
    period = data["period"]
    chart = column_chart(column, start=period["start_at"], end=period["end_at"])
    status = _badge(latest["status"]) + " " if latest else ""
    return (
        f'<section class="column{" drifting" if latest and latest["status"] == "drift" else ""}" id="column-{index}">'
        f'{status}<h3>{_e(column["column"])}</h3><span class="aside">{_e(aside)}</span>'
        f'<div class="plots"><div>{chart}</div><div>{column_histogram(column)}</div></div></section>'
    )


def _quality_table(columns: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for column in columns:
        judged = [s for s in column["series"] if s["missing_share"] is not None]
        latest = judged[-1] if judged else {}
        worst_missing = max((s["missing_share"] for s in judged), default=None)
        worst_outside = max((s["out_of_domain_share"] or 0.0 for s in judged), default=None)
        reference = (column["histogram"] or {}).get("reference_missing_share")
        cells = [
            _share(latest.get("missing_share")),
            _share(worst_missing),
            _share(reference),
            _share(latest.get("out_of_domain_share")),
            _share(worst_outside),
        ]
        numbers = "".join(f'<td class="num">{c}</td>' for c in cells)
        rows.append(f"<tr><td>{_e(column['column'])}</td>{numbers}</tr>")
    head = (
        "<tr><th>Column</th><th>Missing (latest window)</th><th>Missing (max over the period)</th>"
        "<th>Missing in the training data</th><th>Out of domain (latest)</th><th>Out of domain (max)</th></tr>"
    )
    note = (
        '<p class="note">Out of domain: numbers outside the training data\'s range, strings not among its '
        "categories.</p>"
    )
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _windows_table(data: Mapping[str, Any]) -> str:
    rows = []
    for w in reversed(data["windows"]):  # newest first
        rules = "".join(f"<li>{_badge(r['status'])} {_e(n)}: {_e(r['message'])}</li>" for n, r in w["rules"].items())
        version = "—" if w["version"] is None else w["version"]
        rows.append(
            f'<tr class="{_e(w["status"])}"><td>{_badge(w["status"])}</td><td>{_e(utc(w["start_at"]))}</td>'
            f'<td>{_e(utc(w["end_at"]))}</td><td class="num">{w["rows"]:,}</td><td class="num">{_e(version)}</td>'
            f'<td><ul class="rules">{rules}</ul></td></tr>'
        )
    head = "<tr><th>Status</th><th>Start</th><th>End</th><th>Rows</th><th>Version</th><th>Rules</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _delivery(alert: Mapping[str, Any]) -> str:
    state, attempts = alert["notify_state"], alert["notify_attempts"]
    if state == "failed":
        return f"failed after {attempts} attempt(s): {alert['notify_error']}"
    if state == "sent":
        return f"sent ({attempts} attempt(s))"
    return "no webhook" if state == "none" else str(state)


def _alerts_table(alerts: Sequence[Mapping[str, Any]]) -> str:
    if not alerts:
        return "<p>No unresolved alerts, and none resolved during the period.</p>"
    rows = "".join(
        f'<tr class="{_e(a["state"])}"><td class="num">{a["id"]}</td><td>{_badge(a["state"])}</td>'
        f"<td>{_e(a['rule'])}</td>"
        f'<td>{_e(utc(a["opened_at"]))}</td><td>{_e(utc(a["resolved_at"]))}</td><td class="num">{a["windows"]}</td>'
        f"<td>{_e(a['message'])}</td><td>{_e(_delivery(a))}</td></tr>"
        for a in alerts
    )
    head = (
        "<tr><th>Id</th><th>State</th><th>Rule</th><th>Opened</th><th>Resolved</th><th>Windows</th><th>Message</th>"
        "<th>Webhook</th></tr>"
    )
    return f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"


# ---------------------------------------------------------------------------------------------- charts


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
    if edges and rows and numeric_bins(labels):
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
