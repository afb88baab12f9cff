"""Progress of long operations (gate checks, pipeline steps, monitor windows, batch scoring) in a notebook.

>>> with progress("gate checks", total=len(checks), unit="checks") as tick:
...     for done, check in enumerate(checks):
...         tick(done, note=check.name)
...         run(check)
...     tick(len(checks))

In a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab) the bar is a line of HTML (a ``<progress>``
element and the counts) displayed once and updated in place through IPython's display channel, at most a
few times a second: no widget library is needed, and a notebook run headless keeps only the final state.
Anywhere else ``tick`` does nothing: a script, a server or a CI log gets no progress lines at all, and the
CLI draws its own bar with rich, on a terminal only (``shipyard predict``).

IPython is never imported here: a kernel has imported it already, and when it is not in ``sys.modules``
the code is not running in one.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any, Protocol

__all__ = ["Tick", "in_notebook", "progress"]

MIN_INTERVAL = 0.2
"""Seconds between two redraws (the first and the last are always drawn)."""


class Tick(Protocol):
    """``tick(done, total=None, note="")``: ``done`` units so far; ``total`` when it becomes known."""

    def __call__(self, done: int, total: int | None = None, note: str = "") -> None: ...


def in_notebook() -> bool:
    """True inside a Jupyter kernel: IPython's ``ZMQInteractiveShell`` (or a subclass, such as Colab's)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__) if shell else False


def _nothing(done: int, total: int | None = None, note: str = "") -> None:
    return None


class _NotebookBar:
    """One display, updated in place: ``label``, a bar, ``done of total unit``, the elapsed time, a note."""

    def __init__(self, label: str, total: int | None, unit: str, clock: Callable[[], float]) -> None:
        self.label, self.total, self.unit, self.clock = label, total, unit, clock
        self.started = clock()
        self.drawn_at: float | None = None
        self.done, self.note = 0, ""
        self.display: Any = importlib.import_module("IPython.display")
        self.handle: Any = None

    def __call__(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done, self.note = done, note
        self.total = total if total is not None else self.total
        now = self.clock()
        if self.drawn_at is None or now - self.drawn_at >= MIN_INTERVAL:
            self.draw(now)

    def finish(self, error: BaseException | None) -> None:
        if self.handle is None:  # never ticked: the caller reported elsewhere, or had nothing to do
            return
        if error is not None:
            self.note = f"stopped: {type(error).__name__}"
        elif self.total is not None:
            self.done, self.note = max(self.done, self.total), ""
        self.draw(self.clock())

    def draw(self, now: float) -> None:
        self.drawn_at = now
        html = self.display.HTML(self.html(now - self.started))
        if self.handle is None:
            self.handle = self.display.display(html, display_id=True)
        else:
            self.handle.update(html)

    def html(self, elapsed: float) -> str:
        if self.total:
            bar = f'<progress value="{min(self.done, self.total)}" max="{self.total}"></progress>'
            counts = f"{self.done:,} of {self.total:,} {self.unit}"
        else:  # no total: an indeterminate bar
            bar, counts = "<progress></progress>", f"{self.done:,} {self.unit}"
        note = f" · {self.note}" if self.note else ""
        return (
            f'<div class="sy-progress" style="font: 12px system-ui, sans-serif;">{escape(self.label)} {bar} '
            f"{escape(counts)} · {elapsed:.1f} s{escape(note)}</div>"
        )


@contextmanager
def progress(
    label: str, *, total: int | None = None, unit: str = "", clock: Callable[[], float] = time.monotonic
) -> Iterator[Tick]:
    """A ``tick`` that draws a progress bar in a notebook, and does nothing anywhere else (see the module doc).

    On leaving, the bar shows the total reached, or ``stopped: Error`` when an exception ended the work; a
    ``tick`` never called draws nothing.
    """
    if not in_notebook():
        yield _nothing
        return
    bar = _NotebookBar(label, total, unit, clock)
    try:
        yield bar
    except BaseException as exc:
        bar.finish(exc)
        raise
    bar.finish(None)
