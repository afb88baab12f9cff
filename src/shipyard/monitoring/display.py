"""How drift results and monitor windows show themselves: one-line ``__repr__`` texts and notebook HTML.

Everything here reads the plain dicts the classes already write (``DriftReport.to_dict()``,
``ColumnDrift.to_dict()``, ``WindowOutcome.to_dict()``, …), so this module imports none of the classes it
draws and a dict read back from the store draws the same way. A drift table has a row per column: the
statistic and its threshold (a p-value against the significance level for KS and chi², a distance against
its threshold for the others), the outcome, the missing share, and the reference's distribution (outline)
against the window's (bars); the drifted columns also get a full-size chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core._html import Markup, badge, block, definition_list, more, subtitle, table, utc
from shipyard.core._svg import MISSING, category_bars, format_number, histogram, numeric_bins, sparkline

__all__ = [
    "column_html",
    "column_line",
    "drift_html",
    "drift_line",
    "outcome_html",
    "outcome_line",
    "rows_window_html",
    "rows_window_line",
    "window_html",
    "window_line",
]

MAX_CHARTS = 6
"""Full-size charts under a drift table (drifted columns first); every column keeps its sparkline."""
PREVIEW_ROWS = 10


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flat(value: object, limit: int = 48) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _share(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) and not isinstance(value, bool) else MISSING


def _statistic(column: Mapping[str, Any]) -> tuple[str, str]:
    """(statistic, threshold) in words: ``ks p = 0.003`` against ``significance 0.05``, or ``psi 0.21`` ≥ ``0.1``."""
    method = str(column.get("method"))
    if column.get("p_value") is not None:
        return f"{method} p = {format_number(column['p_value'])}", f"significance {format_number(column['threshold'])}"
    return f"{method} {format_number(column.get('value'))}", format_number(column.get("threshold"))


# ---------------------------------------------------------------------------------------------- one line


def column_line(column: Mapping[str, Any]) -> str:
    """``<ColumnDrift 'tenure' drift · ks p = 1.2e-200 (significance 0.05) · 500 rows>``"""
    statistic, threshold = _statistic(column)
    return (
        f"<ColumnDrift {column.get('column')!r} {column.get('status')} · {statistic} ({threshold}) · "
        f"{format_number(column.get('rows'))} rows>"
    )


def drift_line(report: Mapping[str, Any]) -> str:
    """``<DriftReport drift · 2 of 3 columns drifted: 'tenure', 'calls' · 500 rows>``"""
    columns = _map(report.get("columns"))
    drifted = list(report.get("drifted") or ())
    listing = ", ".join(repr(name) for name in drifted[:5]) + (", …" if len(drifted) > 5 else "")
    return (
        f"<DriftReport {report.get('status')} · {len(drifted)} of {len(columns)} columns drifted"
        f"{': ' + listing if drifted else ''} · {format_number(report.get('rows'))} rows>"
    )


def _period(start: object, end: object) -> str:
    start_text, end_text = utc(start if isinstance(start, int) else None), utc(end if isinstance(end, int) else None)
    same_day = start_text[:10] == end_text[:10]
    return f"{start_text} – {end_text[11:] if same_day else end_text}"


def window_line(window: Mapping[str, Any]) -> str:
    """``<WindowOutcome fail 2023-11-14 22:15 – 22:16 UTC · 2,000 rows · fired feature_drift>``"""
    fired = list(window.get("fired") or ())
    rules = [_map(r) for r in window.get("rules") or ()]
    failed = [str(r.get("rule")) for r in rules if r.get("status") == "fail"]
    tail = f" · fired {', '.join(_flat(f, 32) for f in fired)}" if fired else ""
    tail += f" · failing {', '.join(_flat(f, 32) for f in failed)}" if failed and not fired else ""
    return (
        f"<WindowOutcome {window.get('status')} {_period(window.get('start_at'), window.get('end_at'))} · "
        f"{format_number(window.get('rows'))} rows · {len(rules)} rules{tail}>"
    )


def outcome_line(outcome: Mapping[str, Any]) -> str:
    """``<MonitorOutcome 'drift' on churn@live · 4 windows: 2 fail, 1 pass, 1 insufficient_data · 1 alert opened>``"""
    windows = [_map(w) for w in outcome.get("windows") or ()]
    counts: dict[str, int] = {}
    for window in windows:
        counts[str(window.get("status"))] = counts.get(str(window.get("status")), 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    opened, resolved = len(outcome.get("opened") or ()), len(outcome.get("resolved") or ())
    return (
        f"<MonitorOutcome {outcome.get('monitor')!r} on {_flat(outcome.get('model'))} · {len(windows)} new windows"
        f"{': ' + summary if summary else ''} · {opened} alerts opened, {resolved} resolved>"
    )


def rows_window_line(start_at: int, end_at: int, rows: int, versions: Sequence[int]) -> str:
    """``<Window 2023-11-14 22:14 – 22:15 UTC · 2,000 rows · versions 1, 2>``"""
    listed = ", ".join(map(str, versions)) or "none"
    return f"<Window {_period(start_at, end_at)} · {rows:,} rows · versions {listed}>"


# ---------------------------------------------------------------------------------------------- HTML


def _spark(column: Mapping[str, Any]) -> object:
    found = _map(column.get("histogram"))
    labels, current, reference = found.get("labels") or [], found.get("current") or [], found.get("reference") or []
    title = f"{column.get('column')}: shares in the window (bars) and the reference (outline)"
    return Markup(sparkline(current, labels=[str(x) for x in labels], reference=reference, title=title)) or MISSING


def _chart(column: Mapping[str, Any]) -> str:
    """A drifted column's distributions full size: a histogram of counts over numeric bins (the reference's
    shares scaled to the window's rows), else the shares of each value or bin side by side."""
    found = _map(column.get("histogram"))
    labels, cur, ref = list(found.get("labels") or []), found.get("current") or [], found.get("reference") or []
    edges, rows = found.get("edges"), column.get("rows") or 0
    name = column.get("column")
    if edges and rows and numeric_bins(labels):
        try:
            return histogram(
                [-math.inf, *edges, math.inf],
                [s * rows for s in cur],
                reference_counts=[s * rows for s in ref],
                title=f"{name}: the window's counts, and the reference's shares scaled to its {rows:,} rows",
                width=520,
            )
        except ValueError:  # bins that do not fit together: drawn as categories below
            pass
    if not labels or len(labels) != len(cur) or len(labels) != len(ref):
        return ""
    title = f"{name}: share of each value or bin, in the reference and the window"
    return category_bars([str(x) for x in labels], ref, cur, title=title, width=520)


def _drift_table(report: Mapping[str, Any]) -> Markup:
    columns = [_map(c) for c in _map(report.get("columns")).values()]
    rows = []
    for column in columns:
        statistic, threshold = _statistic(column)
        rows.append(
            [
                column.get("column"),
                column.get("kind"),
                statistic,
                threshold,
                badge(str(column.get("status"))),
                format_number(column.get("rows")),
                _share(column.get("missing_share")),
                _share(column.get("out_of_domain_share")),
                _spark(column),
            ]
        )
    head = ["column", "kind", "statistic", "threshold", "outcome", "rows", "missing", "out of domain", "distribution"]
    drawn = sorted(columns, key=lambda c: c.get("status") != "drift")[:MAX_CHARTS]
    charts = "".join(
        f"{subtitle(str(c.get('column')))}{_chart(c)}" for c in drawn if c.get("status") == "drift" and _chart(c)
    )
    return Markup(str(table(head, rows, numeric=(5, 6, 7))) + charts)


def drift_html(report: Mapping[str, Any]) -> str:
    columns = _map(report.get("columns"))
    drifted = list(report.get("drifted") or ())
    facts: list[tuple[object, object]] = [
        ("Outcome", Markup(f"{badge(str(report.get('status')))} {len(drifted)} of {len(columns)} columns drifted")),
        ("Rows", f"{format_number(report.get('rows'))} (at least {format_number(report.get('min_rows'))} to judge)"),
    ]
    return block("Drift", definition_list(facts), _drift_table(report))


def column_html(column: Mapping[str, Any]) -> str:
    statistic, threshold = _statistic(column)
    reference_missing = _share(column.get("reference_missing_share"))
    facts: list[tuple[object, object]] = [
        ("Outcome", badge(str(column.get("status")))),
        ("Statistic", f"{statistic} (threshold {threshold})"),
        ("Rows", format_number(column.get("rows"))),
        ("Missing", f"{_share(column.get('missing_share'))} (in the reference {reference_missing})"),
        ("Out of domain", _share(column.get("out_of_domain_share"))),
    ]
    return block(f"Drift of {column.get('column')}", definition_list(facts), Markup(_chart(column)))


def window_html(window: Mapping[str, Any]) -> str:
    """A monitor window's rules (outcome, message, whether it fired an alert) and each drift rule's table."""
    return block(f"Monitor window ({window.get('status')})", *_window_parts(window))


def _window_parts(window: Mapping[str, Any]) -> list[object]:
    fired = set(window.get("fired") or ())
    rules = [_map(r) for r in window.get("rules") or ()]
    rows = [
        [
            r.get("rule"),
            r.get("kind"),
            badge(str(r.get("status"))),
            "yes" if r.get("rule") in fired else "",
            r.get("message"),
        ]
        for r in rules
    ]
    facts: list[tuple[object, object]] = [
        ("Outcome", badge(str(window.get("status")))),
        ("Period", _period(window.get("start_at"), window.get("end_at"))),
        ("Rows", format_number(window.get("rows"))),
    ]
    parts: list[object] = [definition_list(facts), table(["rule", "kind", "outcome", "alert", "message"], rows)]
    for name, report in _map(window.get("drift")).items():
        parts += [subtitle(f"Drift: rule {name}"), _drift_table(_map(report))]
    return parts


def outcome_html(outcome: Mapping[str, Any]) -> str:
    """What one evaluation of a monitor did: its new windows, the alerts it opened and resolved, and the latest
    window in full."""
    windows = [_map(w) for w in outcome.get("windows") or ()]
    rows = [
        [
            badge(str(w.get("status"))),
            _period(w.get("start_at"), w.get("end_at")),
            format_number(w.get("rows")),
            ", ".join(map(str, w.get("fired") or ())) or MISSING,
        ]
        for w in windows[-50:]
    ]
    facts: list[tuple[object, object]] = [
        ("Model", outcome.get("model")),
        ("New windows", format_number(len(windows))),
        ("Alerts opened", ", ".join(f"#{a}" for a in outcome.get("opened") or ()) or "none"),
        ("Alerts resolved", ", ".join(f"#{a}" for a in outcome.get("resolved") or ()) or "none"),
    ]
    parts: list[object] = [definition_list(facts)]
    if windows:
        note = more(len(windows) - 50, "older windows")
        parts += [table(["outcome", "period", "rows", "fired"], rows, numeric=(2,), nowrap=(1,), note=note)]
        parts += [subtitle("The latest window"), *_window_parts(windows[-1])]
    else:
        parts.append(Markup('<p class="sy-note">No window was complete and new: nothing was evaluated.</p>'))
    return block(f"Monitor {outcome.get('monitor')}", *parts)


def rows_window_html(
    start_at: int, end_at: int, versions: Sequence[int], rows: int, head: Sequence[Mapping[str, Any]]
) -> str:
    """A window of the prediction log: its period and size, and its first rows."""
    columns = list(dict.fromkeys(k for row in head for k in row))
    facts: list[tuple[object, object]] = [
        ("Period", _period(start_at, end_at)),
        ("Rows", format_number(rows)),
        ("Versions", ", ".join(map(str, versions)) or "none"),
    ]
    cells = [[_flat(row.get(c, MISSING), 60) for c in columns] for row in head]
    note = more(rows - len(head), "rows")
    return block("Prediction-log window", definition_list(facts), table(columns, cells, note=note) if columns else "")
