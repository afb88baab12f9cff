"""The headline ratios every benchmark reports in one shape, for ``bench/summary.py``'s single table.

Standard library only. A benchmark adds ``"headlines": [headline(...), …]`` to the JSON report it writes
to ``bench/results/<bench>-<UTC timestamp>.json``; ``bench/summary.py`` reads the newest report of each
benchmark and writes ``bench/results/summary.md``.

A headline is one claim a reader may quote: what was measured on each side, *the same work* (or, in
``differs``, what is not the same), the target, and whether it was met.
"""

from __future__ import annotations

from typing import Any


def headline(
    name: str,
    *,
    ours: float,
    unit: str,
    same_work: str,
    peer: str | None = None,
    theirs: float | None = None,
    floor: float | None = None,
    floor_name: str | None = None,
    higher_is_better: bool = False,
    target: str = "-",
    met: bool | None = None,
    differs: str = "",
) -> dict[str, Any]:
    """One row of the summary.

    ``ours``/``theirs``/``floor`` are medians in ``unit`` (e.g. ``"s"``, ``"ms"``, ``"req/s"``, ``"MB"``);
    ratios always say "how many times better ours is" (> 1: ours is better), so that no reader has to ask
    which way one points: ``x_better_than_peer``, and ``fraction_of_floor`` (0.6: ours reaches 60 % of the
    floor's speed).
    """

    def better(a: float | None, b: float | None) -> float | None:
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        return a / b if higher_is_better else b / a

    return {
        "name": name,
        "unit": unit,
        "ours": ours,
        "peer": peer,
        "theirs": theirs,
        "floor_name": floor_name,
        "floor": floor,
        "x_better_than_peer": better(ours, theirs),
        "fraction_of_floor": better(ours, floor),
        "higher_is_better": higher_is_better,
        "same_work": same_work,
        "differs": differs,
        "target": target,
        "met": met,
    }
