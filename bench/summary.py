"""One table of every benchmark's headline ratios: ``bench/results/summary.md``.

    .venv/bin/python bench/summary.py          # after the benchmarks (``make bench-all`` runs it last)

Reads the newest ``bench/results/<bench>-<timestamp>.json`` of each benchmark, takes its ``headlines``
(see ``bench/_headlines.py``), and writes one Markdown table: each claim with its same-work definition,
what differs, the target, met or missed, and the machine and date of the run it comes from. README and
docs claim only what this table shows.
"""

from __future__ import annotations

import json
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
_STAMPED = re.compile(r"^(?P<bench>[a-z_]+)-(?P<stamp>\d{8}T\d{6}Z)\.json$")


def newest_reports(folder: Path = RESULTS) -> dict[str, Path]:
    """The newest full report of each benchmark; the newest ``--quick`` one only when there is no full one."""
    newest: dict[str, tuple[bool, str, Path]] = {}
    for path in folder.glob("*.json"):
        match = _STAMPED.match(path.name)
        if not match:
            continue
        full = not is_quick(json.loads(path.read_text()))
        key = (full, match["stamp"], path)
        if match["bench"] not in newest or key[:2] > newest[match["bench"]][:2]:
            newest[match["bench"]] = key
    return {bench: path for bench, (_, _, path) in sorted(newest.items())}


def is_quick(report: dict[str, Any]) -> bool:
    args = report.get("args")
    return bool(report.get("quick") or (isinstance(args, dict) and args.get("quick")))


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}x" if value < 10 else f"{value:,.0f}x"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def rows(bench: str, report: dict[str, Any], stamp: str) -> list[str]:
    out = []
    if is_quick(report):
        stamp += " (--quick)"
    for h in report.get("headlines", []):
        met = {True: "met", False: "**missed**", None: "-"}[h.get("met")]
        peer = f"{h['peer']}: {fmt(h.get('theirs'), h['unit'])}" if h.get("peer") else "-"
        floor = f"{h['floor_name']}: {fmt(h.get('floor'), h['unit'])}" if h.get("floor_name") else "-"
        out.append(
            f"| {bench} | {h['name']} | {fmt(h['ours'], h['unit'])} | {peer} | {ratio(h.get('x_better_than_peer'))} "
            f"| {floor} | {percent(h.get('fraction_of_floor'))} | {h['target']} | {met} | {h['same_work']}"
            f"{'; differs: ' + h['differs'] if h.get('differs') else ''} | {stamp} |"
        )
    return out


def main() -> None:
    reports = newest_reports()
    lines = [
        "# Benchmark summary",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.platform()} from the newest report of each "
        "benchmark in bench/results/. Ratios say how many times better Shipyard is (> 1: better); 'of floor' is "
        "the share of the floor's speed Shipyard reaches. Every figure is a median of repeated runs.",
        "",
        "| bench | headline | Shipyard | peer | x peer | floor | of floor | target | | same work | run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    missing = []
    for bench, path in reports.items():
        report = json.loads(path.read_text())
        found = rows(bench, report, _STAMPED.match(path.name)["stamp"])  # type: ignore[index]
        if found:
            lines += found
        else:
            missing.append(bench)
    if missing:
        lines += ["", f"Reports without headlines (older format): {', '.join(missing)}."]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "summary.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\n- written to {out}")


if __name__ == "__main__":
    main()
