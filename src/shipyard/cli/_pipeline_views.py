"""What the ``pipeline`` commands show: a pipeline run with its steps in DAG order, and the list of runs.

``pipeline_document`` computes what ``--json`` prints; the tables only draw, from the same records.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.cli._output import fmt_duration, fmt_start, fmt_time, key_values, status_text, table, text
from shipyard.cli._views import duration_ms
from shipyard.core.entities import RunRecord, StepRecord, StepStatus
from shipyard.pipelines.runner import PARAMS_TAG, PIPELINE_TAG, TARGET_TAG

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

STEP_STYLES = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "cyan",
    StepStatus.FINISHED: "green",
    StepStatus.CACHED: "blue",
    StepStatus.FAILED: "red",
    StepStatus.CRASHED: "magenta",
    StepStatus.SKIPPED: "yellow",
}
_BROKEN = (StepStatus.FAILED, StepStatus.CRASHED)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')


# what a run is ---------------------------------------------------------------------------------------


def pipeline_name(run: RunRecord) -> str:
    return run.tags.get(PIPELINE_TAG, run.name)


def pipeline_params(run: RunRecord) -> dict[str, Any]:
    """The typed values the pipeline ran with (params on the run are strings)."""
    raw = run.tags.get(PARAMS_TAG)
    if raw is None:
        return dict(run.params)
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def step_counts(steps: Sequence[StepRecord]) -> dict[str, int]:
    """How many steps are in each status, in the order statuses are declared."""
    counts = Counter(step.status for step in steps)
    return {status.value: counts[status] for status in StepStatus if counts[status]}


def steps_summary(steps: Sequence[StepRecord]) -> str:
    """'4 ok (2 cached), 1 failed, 1 skipped'."""
    counts = Counter(step.status for step in steps)
    ok = counts[StepStatus.FINISHED] + counts[StepStatus.CACHED]
    parts = [f"{ok} ok" + (f" ({counts[StepStatus.CACHED]} cached)" if counts[StepStatus.CACHED] else "")]
    for status in StepStatus:
        if not status.succeeded and counts[status]:
            parts.append(f"{counts[status]} {status.value}")
    return ", ".join(parts)


def pipeline_document(run: RunRecord, steps: Sequence[StepRecord]) -> dict[str, Any]:
    """What ``--json`` prints for one pipeline run."""
    return {
        "run_id": run.id,
        "pipeline": pipeline_name(run),
        "project": run.project,
        "status": run.status.value,
        "target": run.tags.get(TARGET_TAG),
        "params": pipeline_params(run),
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_ms": duration_ms(run),
        "step_counts": step_counts(steps),
        "steps": [step.to_dict() for step in steps],
    }


def error_line(error: str | None) -> str:
    """The last line of a traceback (the exception), and where the innermost frame raised it."""
    if not error:
        return ""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    last = lines[-1].strip()
    frames = [match for line in lines if (match := _FRAME.match(line))]
    if not frames:
        return last
    frame = frames[-1]
    where = frame["file"].replace("\\", "/").rsplit("/", 1)[-1]
    return f"{last} ({where}:{frame['line']} in {frame['function']})"


# pipeline show -------------------------------------------------------------------------------------


def pipeline_detail(
    run: RunRecord, steps: Sequence[StepRecord], sources: Mapping[str, str | None], *, tracebacks: bool
) -> list[RenderableType]:
    """The run's attributes, its steps in DAG order, then (with ``tracebacks``) each failed step's traceback.

    ``sources`` maps each cached node to the pipeline run its outputs came from (None if that run is gone).
    """
    attributes: dict[str, str | Text] = {
        "pipeline": pipeline_name(run),
        "project": run.project,
        "status": status_text(run.status),
    }
    if TARGET_TAG in run.tags:
        attributes["target"] = run.tags[TARGET_TAG]
    params = pipeline_params(run)
    if params:
        attributes["params"] = " ".join(f"{key}={json.dumps(value)}" for key, value in sorted(params.items()))
    attributes["started"] = fmt_time(run.start_time)
    attributes["duration"] = fmt_duration(duration_ms(run))
    attributes["steps"] = steps_summary(steps)
    parts: list[RenderableType] = [key_values(attributes, title=f"Pipeline run {run.id}"), steps_table(steps, sources)]
    if tracebacks:
        for step in steps:
            if step.status in _BROKEN and step.error:
                title = f"Traceback of step {step.node!r} (run {step.run_id}, attempt {step.attempts}):\n"
                section = text("")
                section.append(title, style="bold")
                section.append(step.error.rstrip())
                parts.append(section)
    return parts


def steps_table(steps: Sequence[StepRecord], sources: Mapping[str, str | None]) -> Table:
    """One row per node in DAG order, indented by depth, with the nodes it runs after."""
    now = int(time.time() * 1000)
    depth: dict[str, int] = {}
    for step in steps:  # DAG order: upstream nodes come first
        depth[step.node] = 1 + max((depth.get(up, 0) for up in step.upstream), default=-1)
    show_step = any(step.step != step.node for step in steps)
    headers = ["node", *(["step"] if show_step else []), "status", "attempts", "duration", "after", "run", "note"]
    grid = table(*headers)
    for column in grid.columns:
        column.no_wrap = column.header not in ("after", "note")
        if column.header == "run":
            column.min_width = max((len(step.run_id or "") for step in steps), default=1)  # ids must stay copyable
        column.justify = "right" if column.header in ("attempts", "duration") else "left"
    for step in steps:
        ran = step.attempts > 0 and step.status is not StepStatus.CACHED  # a cache hit ran nothing
        cells = [text("  " * depth[step.node] + step.node)]
        if show_step:
            cells.append(text(step.step, "dim"))
        cells += [
            text(step.status.value, STEP_STYLES[step.status]),
            text(step.attempts if ran else "-"),
            text(fmt_duration(_step_duration(step, now)) if ran else "-"),
            text(", ".join(step.upstream), "dim"),
            text(step.run_id or "-"),
            _note(step, sources),
        ]
        grid.add_row(*cells)
    return grid


def _step_duration(step: StepRecord, now: int) -> int | None:
    if step.status is StepStatus.RUNNING and step.started_at is not None:
        return now - step.started_at
    return step.duration_ms


def _note(step: StepRecord, sources: Mapping[str, str | None]) -> Text:
    if step.status is StepStatus.CACHED:
        source = sources.get(step.node)
        return text(f"cache hit: outputs of pipeline run {source}" if source else "cache hit", "dim")
    if step.status in _BROKEN:
        return text(error_line(step.error), "red")
    if step.status is StepStatus.SKIPPED:
        return text((step.error or "").removeprefix("skipped: "), "dim")
    if step.status is StepStatus.PENDING and step.error:
        return text(f"retrying after: {error_line(step.error)}", "dim")
    return text("")


# pipeline runs -------------------------------------------------------------------------------------


def pipeline_runs_table(runs: Sequence[tuple[RunRecord, Sequence[StepRecord]]]) -> Table:
    now = int(time.time() * 1000)
    show_project = len({run.project for run, _steps in runs}) > 1
    grid = table("run id", *(["project"] if show_project else []), "pipeline", "status", "started", "duration", "steps")
    grid.columns[0].no_wrap = True
    grid.columns[0].min_width = max(len(run.id) for run, _steps in runs)  # ids must stay copyable
    grid.columns[-2].justify = "right"
    for run, steps in runs:
        cells = [text(run.id)]
        if show_project:
            cells.append(text(run.project))
        cells += [
            text(pipeline_name(run)),
            status_text(run.status),
            text(fmt_start(run.start_time, now)),
            text(fmt_duration(duration_ms(run, now))),
            text(steps_summary(steps)),
        ]
        grid.add_row(*cells)
    return grid
