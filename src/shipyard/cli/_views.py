"""What the ``runs`` commands show: the run table, one run in detail, and runs side by side.

``comparison`` computes; the ``*_table`` and ``run_detail`` functions only draw, so ``--json`` and the
tables always agree.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.cli._output import (
    fmt_bytes,
    fmt_delta,
    fmt_duration,
    fmt_number,
    fmt_start,
    fmt_time,
    key_values,
    status_text,
    table,
    text,
)
from shipyard.core.entities import RunArtifact, RunRecord, RunStatus

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

MAX_METRIC_COLUMNS = 6
MAX_PARAM_COLUMNS = 3
_DIGEST_SHOWN = len("sha256:") + 12


def duration_ms(run: RunRecord, now_ms: int | None = None) -> int | None:
    """How long the run took, or has been running; None for a crashed run (its end is unknown)."""
    if run.end_time is not None:
        return run.end_time - run.start_time
    if run.status is RunStatus.RUNNING:
        return (now_ms if now_ms is not None else int(time.time() * 1000)) - run.start_time
    return None


def common_keys(mappings: Iterable[Mapping[str, Any]], limit: int) -> list[str]:
    """The ``limit`` keys present in the most mappings (ties alphabetical), in alphabetical order."""
    counts = Counter(key for mapping in mappings for key in mapping)
    ranked = sorted(counts, key=lambda key: (-counts[key], key))[:limit]
    return sorted(ranked)


# runs list -------------------------------------------------------------------------------------------


def runs_table(runs: Sequence[RunRecord], *, width: int) -> Table:
    """One row per run; as many of the most common params and metrics as fit in ``width`` columns."""
    now = int(time.time() * 1000)
    show_project = len({run.project for run in runs}) > 1
    fixed: dict[str, list[str]] = {"id": [run.id for run in runs]}
    if show_project:
        fixed["project"] = [run.project for run in runs]
    fixed["name"] = [run.name for run in runs]
    fixed["status"] = [run.status.value + (" (deleted)" if run.deleted else "") for run in runs]
    fixed["started"] = [fmt_start(run.start_time, now) for run in runs]
    fixed["duration"] = [fmt_duration(duration_ms(run, now)) for run in runs]
    metric_keys = common_keys((run.metrics for run in runs), MAX_METRIC_COLUMNS)
    param_keys = common_keys((run.params for run in runs), MAX_PARAM_COLUMNS)
    extra: dict[tuple[str, str], list[str]] = {}
    for key in metric_keys:  # metrics first: when space is short, they matter more than params
        extra["metrics", key] = [fmt_number(run.metrics[key]) if key in run.metrics else "" for run in runs]
    for key in param_keys:
        extra["params", key] = [run.params.get(key, "") for run in runs]
    budget = width + 2 - sum(_width(header, values) for header, values in fixed.items())  # no gap after the last
    shown = []
    for (kind, key), values in extra.items():
        header = f"{kind}.{key}" if key in metric_keys and key in param_keys else key
        if _width(header, values) <= budget:
            budget -= _width(header, values)
            shown.append((kind, key, header))
    shown.sort(key=lambda item: item[0] == "metrics")  # params, then metrics, each in key order

    grid = table()
    for header in fixed:
        grid.add_column(header, no_wrap=header != "name", justify="right" if header == "duration" else "left")
    for kind, _key, header in shown:
        grid.add_column(header, justify="right" if kind == "metrics" else "left", no_wrap=True)
    for row, run in enumerate(runs):
        cells = [text(values[row]) for values in fixed.values()]
        cells[list(fixed).index("status")] = status_text(run.status, deleted=run.deleted)
        cells += [text(extra[kind, key][row]) for kind, key, _header in shown]
        grid.add_row(*cells)
    return grid


def _width(header: str, values: Sequence[str]) -> int:
    # Two columns of separation; a long name may wrap, so it claims at most 24.
    widest = max([len(header), *(len(value) for value in values)])
    return min(widest, 24 if header == "name" else widest) + 2


# runs show -------------------------------------------------------------------------------------------


def run_detail(run: RunRecord, artifacts: Sequence[RunArtifact]) -> list[RenderableType]:
    attributes: dict[str, str | Text] = {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "status": status_text(run.status, deleted=run.deleted),
        "started": fmt_time(run.start_time),
        "ended": fmt_time(run.end_time),
        "duration": fmt_duration(duration_ms(run)),
    }
    if run.parent_id:
        attributes["parent"] = run.parent_id
    parts: list[RenderableType] = [key_values(attributes, title="Run")]
    parts.append(_section("Params", run.params, "no params logged"))
    parts.append(_section("Metrics (latest)", {k: fmt_number(v) for k, v in run.metrics.items()}, "no metrics logged"))
    parts.append(_section("Tags", run.tags, "no tags set"))
    parts.append(_section("Environment", environment_summary(run.environment), "not captured"))
    if artifacts:
        from rich.console import Group
        from rich.padding import Padding

        grid = table("path", "size", "digest")
        grid.columns[1].justify = "right"
        for item in artifacts:
            grid.add_row(text(item.path), text(fmt_bytes(item.size)), text(item.digest[:_DIGEST_SHOWN] + "…"))
        parts.append(Group(text("Artifacts", "bold"), Padding(grid, (0, 0, 0, 2), expand=False)))
    else:
        parts.append(_section("Artifacts", {}, "none logged"))
    return parts


def _section(title: str, rows: Mapping[str, str], empty: str) -> RenderableType:
    if not rows:
        section = text(title, "bold")
        section.append(f"\n  {empty}", style="dim italic")
        return section
    return key_values(dict(sorted(rows.items())), title=title)


def environment_summary(env: Mapping[str, Any]) -> dict[str, str]:
    """The few environment facts people look for: git commit and dirty flag, Python, platform, packages."""
    summary: dict[str, str] = {}
    git = env.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        branch = f" on {git['branch']}" if git.get("branch") else ""
        dirty = " (dirty: uncommitted changes)" if git.get("dirty") else ""
        summary["git"] = f"{str(git['commit'])[:12]}{branch}{dirty}"
    elif env:
        summary["git"] = "not a git checkout"
    if env.get("python"):
        summary["python"] = " ".join(str(env[k]) for k in ("implementation", "python") if env.get(k))
    if env.get("platform"):
        summary["platform"] = str(env["platform"])
    packages = env.get("packages")
    if isinstance(packages, Mapping) and packages:
        summary["packages"] = ", ".join(f"{name}=={version}" for name, version in sorted(packages.items()))
    return summary


# runs compare ----------------------------------------------------------------------------------------


def comparison(runs: Sequence[RunRecord]) -> dict[str, Any]:
    """Params and latest metrics side by side; metric deltas are against the first run."""
    param_rows = []
    for key in sorted({key for run in runs for key in run.params}):
        texts = [run.params.get(key) for run in runs]
        param_rows.append({"key": key, "values": texts, "differs": len(set(texts)) > 1})
    metric_rows = []
    for key in sorted({key for run in runs for key in run.metrics}):
        numbers = [run.metrics.get(key) for run in runs]
        base = numbers[0]
        deltas = [None if base is None or value is None else value - base for value in numbers]
        deltas[0] = None
        metric_rows.append({"key": key, "values": numbers, "deltas": deltas, "differs": _differ(numbers)})
    return {
        "runs": [{"id": run.id, "name": run.name, "project": run.project, "status": run.status} for run in runs],
        "params": param_rows,
        "metrics": metric_rows,
    }


def _differ(values: Sequence[float | None]) -> bool:
    # NaN != NaN, so compare on a form where two NaNs are equal.
    return len({"nan" if v is not None and math.isnan(v) else v for v in values}) > 1


def comparison_table(data: Mapping[str, Any]) -> Table:
    grid = table("")
    for run in data["runs"]:
        grid.add_column(text(f"{run['name']}\n{run['id'][:8]}…"), justify="right")
    for row in data["params"]:
        style = "bold yellow" if row["differs"] else ""
        grid.add_row(
            text(f"params.{row['key']}", style), *(text("-" if v is None else v, style) for v in row["values"])
        )
    if data["params"] and data["metrics"]:
        grid.rows[-1].end_section = True
    for row in data["metrics"]:
        cells = [text(fmt_number(row["values"][0]))]
        for value, delta in zip(row["values"][1:], row["deltas"][1:], strict=True):
            cells.append(text(f"{fmt_number(value)} {fmt_delta(delta)}".rstrip()))
        grid.add_row(text(f"metrics.{row['key']}", "bold" if row["differs"] else ""), *cells)
    return grid
