"""How the demo tells its story: numbered steps, each with what happened and how long it took.

A step's lines are printed when it ends, under a heading that carries its number and its time. ``--quiet``
prints nothing of the story; the CLI still prints the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

WIDTH = 118


@dataclass
class Narrator:
    echo: Callable[[str], None]
    quiet: bool = False
    timings: list[tuple[str, float]] = field(default_factory=list)
    _lines: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """A numbered step: what ``say`` reports inside it is printed with its heading when it ends."""
        self._lines = []
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.timings.append((title, seconds))
            heading = f"{len(self.timings):>2}. {title}"
            self.print(f"{heading:<{WIDTH - 8}}{seconds:6.1f} s")
            for line in self._lines:
                self.print(line)
            self._lines = []

    def say(self, line: str, indent: int = 1) -> None:
        self._lines.append(clip("    " * indent + line))

    def print(self, line: str = "") -> None:
        if not self.quiet:
            self.echo(line)


@contextmanager
def quiet_loggers() -> Iterator[None]:
    """Keep Shipyard's own log lines (alerts opened, canaries loaded, …) out of the story, which tells them
    itself; errors still reach stderr."""
    logger = logging.getLogger("shipyard")
    handler = logging.StreamHandler()
    handler.setLevel(logging.ERROR)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def clip(line: str, width: int = WIDTH) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"
