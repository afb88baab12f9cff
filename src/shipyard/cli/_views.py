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


def runs_table(runs: Sequence[RunRecord]) -> Table:
    metric_keys = common_keys((run.metrics for run in runs), MAX_METRIC_COLUMNS)
    param_keys = common_keys((run.params for run in runs), MAX_PARAM_COLUMNS)
    show_project = len({run.project for run in runs}) > 1
    grid = table()
    grid.add_column("id", no_wrap=True, min_width=32)  # in full: people copy it into the next command
    if show_project:
        grid.add_column("project")
    grid.add_column("name")
    grid.add_column("status", no_wrap=True)
    grid.add_column("started", no_wrap=True)
    grid.add_column("duration", justify="right", no_wrap=True)
    for key in param_keys:
        grid.add_column(f"params.{key}" if key in metric_keys else key, style="italic")
    for key in metric_keys:
        grid.add_column(f"metrics.{key}" if key in param_keys else key, justify="right")
    now = int(time.time() * 1000)
    for run in runs:
        cells = [text(run.id)]
        if show_project:
            cells.append(text(run.project))
        cells += [
            text(run.name),
            status_text(run.status, deleted=run.deleted),
            text(fmt_time(run.start_time)[:-3]),
            text(fmt_duration(duration_ms(run, now))),
        ]
        cells += [text(run.params.get(key, "")) for key in param_keys]
        cells += [text(fmt_number(run.metrics[key]) if key in run.metrics else "") for key in metric_keys]
        grid.add_row(*cells)
    return grid


# runs show -------------------------------------------------------------------------------------------


def run_detail(run: RunRecord, artifacts: Sequence[RunArtifact]) -> list[RenderableType]:
    attributes: dict[str, Any] = {
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
        grid = table("path", "size", "digest", title="Artifacts")
        grid.columns[1].justify = "right"
        for item in artifacts:
            grid.add_row(text(item.path), text(fmt_bytes(item.size)), text(item.digest[:_DIGEST_SHOWN] + "…"))
        parts.append(grid)
    else:
        parts.append(_section("Artifacts", {}, "none logged"))
    return parts


def _section(title: str, rows: Mapping[str, Any], empty: str) -> RenderableType:
    if not rows:
        return key_values({"": text(empty, "dim italic")}, title=title)
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
        values = [run.params.get(key) for run in runs]
        param_rows.append({"key": key, "values": values, "differs": len(set(values)) > 1})
    metric_rows = []
    for key in sorted({key for run in runs for key in run.metrics}):
        values = [run.metrics.get(key) for run in runs]
        base = values[0]
        deltas = [None if base is None or value is None else value - base for value in values]
        deltas[0] = None
        metric_rows.append({"key": key, "values": values, "deltas": deltas, "differs": _differ(values)})
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
        grid.add_row(text(f"params.{row['key']}", style), *(text("-" if v is None else v, style) for v in row["values"]))
    if data["params"] and data["metrics"]:
        grid.rows[-1].end_section = True
    for row in data["metrics"]:
        cells = [text(fmt_number(row["values"][0]))]
        for value, delta in zip(row["values"][1:], row["deltas"][1:], strict=True):
            cells.append(text(f"{fmt_number(value)} {fmt_delta(delta)}".rstrip()))
        grid.add_row(text(f"metrics.{row['key']}", "bold" if row["differs"] else ""), *cells)
    return grid
