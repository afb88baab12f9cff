"""Rendering: rich tables for people, JSON for machines, the small formatters both share, and prompts.

Rich is imported inside the functions that draw, so ``shipyard --help`` does not pay for it. Every value
that came from a user (names, params, tags) goes into a ``Text``, never into markup, so ``[x]`` in a
run name prints as written.
"""

from __future__ import annotations

import enum
import json
import math
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from shipyard.core.entities import RunStatus, json_number
from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

STATUS_STYLES = {
    RunStatus.RUNNING: "cyan",
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CRASHED: "magenta",
}


# JSON --------------------------------------------------------------------------------------------------


def print_json(data: Any) -> None:
    """Print ``data`` as JSON; NaN and infinities become strings (JSON has no spelling for them)."""
    typer.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False))


def jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


# rich --------------------------------------------------------------------------------------------------


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def text(value: Any, style: str = "") -> Text:
    from rich.text import Text

    return Text("" if value is None else str(value), style=style)


def status_text(status: RunStatus, *, deleted: bool = False) -> Text:
    label = status.value + (" (deleted)" if deleted else "")
    return text(label, "dim" if deleted else STATUS_STYLES.get(status, ""))


def table(*headers: str, title: str | None = None) -> Table:
    """A borderless table: a rule under the header, two spaces between columns, easy to copy from."""
    from rich import box
    from rich.table import Table

    grid = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for header in headers:
        grid.add_column(header)
    return grid


def key_values(rows: Mapping[str, str | Text], *, title: str) -> Text:
    """A bold title, then one ``key  value`` line per row, keys dimmed and aligned."""
    from rich.text import Text

    out = Text(title, style="bold")
    pad = max((len(key) for key in rows), default=0)
    for key, value in rows.items():
        out.append("\n  ")
        out.append(key.ljust(pad), style="dim")
        out.append("  ")
        out.append(value if isinstance(value, Text) else text(value))
    return out


# prompts -----------------------------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    """Whether someone can answer a question: stdin is a terminal, not a pipe, a file or /dev/null."""
    return sys.stdin.isatty()


def confirm(question: str, *, action: str) -> bool:
    """Ask ``question`` (y/N) on stderr; ``InvalidInput`` at once when nobody can answer it.

    Without a terminal (CI, cron, ``</dev/null``) a prompt would read end-of-file and abort; ``action``
    ("delete 2 runs") says what --yes would do instead.
    """
    if not stdin_is_terminal():
        raise InvalidInput(f"Cannot ask whether to {action}: stdin is not a terminal. Pass --yes to go ahead.")
    return typer.confirm(question, err=True)


# formatters --------------------------------------------------------------------------------------------


def fmt_time(millis: int | None) -> str:
    """Local time, to the second; '-' when unknown."""
    if millis is None:
        return "-"
    return datetime.fromtimestamp(millis / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def fmt_start(millis: int, now_ms: int) -> str:
    """'14:03' today, 'Nov 23 14:03' this year, '2024-11-23' before; local time."""
    moment = datetime.fromtimestamp(millis / 1000).astimezone()
    today = datetime.fromtimestamp(now_ms / 1000).astimezone()
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    if moment.year == today.year:
        return moment.strftime("%b %d %H:%M")
    return moment.strftime("%Y-%m-%d")


def fmt_duration(millis: int | None) -> str:
    if millis is None or millis < 0:
        return "-"
    seconds = millis / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return fmt_seconds(seconds)


def fmt_seconds(seconds: float) -> str:
    """A coarse human span: '45s', '3m 12s', '2h 05m', '3d 4h'."""
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"


def fmt_number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def fmt_delta(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "(NaN)"
    if math.isinf(value):
        return "(+inf)" if value > 0 else "(-inf)"
    return f"({value:+.4g})"


def fmt_bytes(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
