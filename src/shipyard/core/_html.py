"""Building HTML as strings, safely: escaping by default, tables, key/value lists, badges, an isolated frame.

Everything a user or the store provides is text, and text is escaped; only ``Markup`` (HTML this package
built) passes through as is, so forgetting to escape takes an explicit act::

    >>> table(["name", "status"], [["<b>gbm</b>", badge("finished")]])   # the name is escaped, the badge not
    >>> block("Run gbm", definition_list([("Status", badge("crashed"))]))  # what a notebook displays

The output is well-formed XML (every element closed, attributes quoted), so tests can parse it and it
can sit inside any page. ``block`` carries its own stylesheet, scoped to ``.sy-repr`` so that it styles
nothing else in a notebook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape

from shipyard.core._svg import MISSING, format_number

__all__ = [
    "Markup",
    "badge",
    "block",
    "code",
    "definition_list",
    "esc",
    "isolated_frame",
    "more",
    "number",
    "subtitle",
    "table",
    "utc",
]


class Markup(str):
    """A string that is already HTML: ``esc`` and the builders below insert it as is."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """``value`` as HTML text: escaped (quotes included, so it is safe in attributes too) unless it is Markup."""
    if isinstance(value, Markup):
        return value
    return Markup(escape(value if isinstance(value, str) else str(value), quote=True))


def utc(millis: int | None) -> str:
    """``2023-11-14 22:14 UTC`` (seconds only when the moment has some); ``—`` for None."""
    if millis is None:
        return MISSING
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M" + (":%S" if millis % 60_000 else "")) + " UTC"


def code(text: object) -> Markup:
    return Markup(f"<code>{esc(text)}</code>")


def number(value: object) -> Markup:
    """A number formatted for people (``format_number``), escaped: a string that is not a number stays text."""
    return esc(format_number(value))


_BADGES = {
    "pass": "pass",
    "passed": "pass",
    "finished": "pass",
    "no_drift": "pass",
    "ok": "pass",
    "fail": "fail",
    "failed": "fail",
    "drift": "fail",
    "crashed": "fail",
    "error": "fail",
    "warn": "warn",
    "running": "info",
    "preview": "warn",
}


def badge(status: object, text: object | None = None) -> Markup:
    """A coloured label for a status (green pass/finished, red fail/drift/crashed, amber warn, blue running,
    grey anything else); the word is always written, so colour is never the only signal."""
    key = str(status).lower()
    tone = _BADGES.get(key, "none")
    return Markup(f'<span class="sy-badge sy-{tone}">{esc(key if text is None else text)}</span>')


def table(
    head: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
    nowrap: Sequence[int] = (),
    note: object = "",
) -> Markup:
    """A table: ``head`` and each row's cells are text (escaped) or Markup; ``numeric`` columns align right,
    ``nowrap`` columns (ids, times) stay on one line."""
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    classes = {i: "sy-num" for i in numeric}
    classes.update({i: (classes.get(i, "") + " sy-nowrap").strip() for i in nowrap})
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{classes[i]}">{esc(cell)}</td>' if i in classes else f"<td>{esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    tail = f'<p class="sy-note">{esc(note)}</p>' if note else ""
    return Markup(f'<table class="sy-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{tail}')


def definition_list(pairs: Iterable[tuple[object, object]]) -> Markup:
    """Key/value pairs as a ``<dl>``, two columns."""
    cells = "".join(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>" for key, value in pairs)
    return Markup(f'<dl class="sy-meta">{cells}</dl>')


def more(hidden: int, noun: str = "rows") -> str:
    """``… 12 more rows`` (empty when nothing is hidden)."""
    return f"… {hidden:,} more {noun}" if hidden > 0 else ""


def isolated_frame(document: str, *, title: str, height: int = 640) -> Markup:
    """``document`` (a complete HTML page) in an ``<iframe srcdoc>``, so that its stylesheet styles only itself.

    The whole document is one attribute value, escaped with quotes (``&`` first, so the browser reads back
    the very bytes). ``sandbox`` without ``allow-scripts`` keeps any script in it from running; with
    ``allow-same-origin`` the notebook page (and a test) can still read what it shows.
    """
    return Markup(
        f'<iframe class="sy-frame" title="{esc(title)}" sandbox="allow-same-origin" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #d0d7de; border-radius: 6px;" '
        f'srcdoc="{escape(document, quote=True)}"></iframe>'
    )


_CSS = """
.sy-repr { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  max-width: 1000px; }
.sy-repr .sy-title { font-size: 14px; font-weight: 700; margin: 0 0 6px; }
.sy-repr .sy-sub { font-size: 13px; font-weight: 600; margin: 12px 0 4px; }
.sy-repr code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.sy-repr dl.sy-meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
.sy-repr dl.sy-meta dt { color: #656d76; } .sy-repr dl.sy-meta dd { margin: 0; }
.sy-repr table.sy-table { border-collapse: collapse; margin: 4px 0; font-size: 12px; }
.sy-repr .sy-table th, .sy-repr .sy-table td { border-bottom: 1px solid #d0d7de; padding: 3px 8px;
  text-align: left; vertical-align: middle; }
.sy-repr .sy-table th { background: #f6f8fa; font-weight: 600; }
.sy-repr .sy-table td.sy-num { text-align: right; font-variant-numeric: tabular-nums; }
.sy-repr .sy-table td.sy-nowrap, .sy-repr .sy-table td.sy-nowrap code { white-space: nowrap; overflow-wrap: normal; }
.sy-repr .sy-badge { display: inline-block; white-space: nowrap; padding: 0 7px; border-radius: 9px;
  color: #fff; font-size: 11px; font-weight: 700; }
.sy-repr .sy-pass { background: #1a7f37; } .sy-repr .sy-fail { background: #cf222e; }
.sy-repr .sy-warn { background: #9a6700; } .sy-repr .sy-info { background: #0969da; }
.sy-repr .sy-none { background: #8c959f; }
.sy-repr .sy-note { color: #656d76; font-size: 12px; margin: 4px 0; }
.sy-repr svg.chart { display: block; max-width: 100%; height: auto; }
.sy-repr svg.spark { display: block; }
"""


def block(title: object, *parts: object) -> Markup:
    """One display: a heading and its parts (text is escaped) in a ``div.sy-repr`` with its scoped stylesheet."""
    body = "".join(esc(part) for part in parts if part)
    return Markup(f'<div class="sy-repr"><style>{_CSS}</style><div class="sy-title">{esc(title)}</div>{body}</div>')


def subtitle(text: object) -> Markup:
    """A heading inside a ``block`` (a div, not ``<h5>``: notebooks restyle and anchor their headings)."""
    return Markup(f'<div class="sy-sub">{esc(text)}</div>')
