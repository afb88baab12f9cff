"""How core entities show themselves: one-line ``__repr__`` texts and notebook HTML (``_repr_html_``).

The entities' methods are one-line calls into here, so the dataclasses stay plain records (their ``==``
is untouched). Everything shown is what the object holds: no display queries the store, because a repr
that can fail or hang (a remote server, a locked database) is worse than one that shows a little less. A
display that could say more with a query names the call that does it (``sy.lineage(…)``, ``sy.gate.latest(…)``).

Every string from a user or the store goes through ``core._html``'s escaping; a repr stays on one line
whatever a name holds (names are shown with ``repr``, other values with their whitespace collapsed).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.core._html import Markup, badge, block, code, definition_list, esc, more, subtitle, table, utc
from shipyard.core._svg import MISSING, format_number, sparkline
from shipyard.core.errors import MissingDependency

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "RunLike",
    "dataset_html",
    "dataset_line",
    "model_html",
    "model_line",
    "page_frame",
    "page_html",
    "page_line",
    "run_html",
    "run_line",
]

MAX_ROWS = 50
"""Rows a table shows; the rest are counted (``… 12 more runs``)."""
MAX_COLUMNS = 40
"""params./metrics. columns a run table shows; ``to_pandas()`` has them all."""
_LINE_ITEMS = 4  # params / metrics / tags named in a one-line repr


class RunLike(Protocol):
    """What a run display reads (``RunRecord`` has it; typed structurally so this module imports no entity)."""

    @property
    def id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start_time(self) -> int: ...
    @property
    def end_time(self) -> int | None: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def metrics(self) -> Mapping[str, float]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...


# ---------------------------------------------------------------------------------------------- one line


def _flat(value: object, limit: int = 32) -> str:
    """Text on one line (every run of whitespace, newlines included, becomes one space), cut at ``limit``."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pairs(values: Mapping[str, Any], *, numbers: bool = False) -> str:
    shown = [
        f"{_flat(k, 24)}={format_number(v) if numbers else _flat(v, 24)}" for k, v in list(values.items())[:_LINE_ITEMS]
    ]
    hidden = len(values) - len(shown)
    return ", ".join(shown) + (f" (+{hidden} more)" if hidden > 0 else "")


def _status(value: object) -> str:
    return str(getattr(value, "value", value))


def _duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(end - start, 0) / 1000
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def run_line(run: RunLike) -> str:
    """``<RunRecord 'gbm' 0190…a3 finished · project churn · started … (12 s) · params lr=0.1 · metrics auc=0.91>``"""
    parts = [f"<RunRecord {run.name!r} {run.id} {_status(run.status)}", f"project {run.project!r}"]
    took = _duration(run.start_time, run.end_time)
    parts.append(f"started {utc(run.start_time)}" + (f" ({took})" if took else ""))
    for label, values, numeric in (("params", run.params, False), ("metrics", run.metrics, True)):
        if values:
            parts.append(f"{label} {_pairs(values, numbers=numeric)}")
    if run.tags:
        parts.append(f"tags {_pairs(run.tags)}")
    return " · ".join(parts) + ">"


def page_line(runs: Sequence[RunLike], next_page_token: str | None) -> str:
    """``<RunPage of 3 runs: 'gbm' finished, 'lr' crashed, … · next page: token '…'>``"""
    shown = ", ".join(f"{r.name!r} {_status(r.status)}" for r in runs[:3])
    hidden = len(runs) - 3
    listing = f": {shown}" + (f", … (+{hidden} more)" if hidden > 0 else "") if runs else ""
    more_pages = f" · next page: page_token={next_page_token!r}" if next_page_token else ""
    return f"<RunPage of {len(runs):,} run{'' if len(runs) == 1 else 's'}{listing}{more_pages}>"


def dataset_line(data: Mapping[str, Any]) -> str:
    """``<DatasetVersion 'churn-train'@3 sha256:ab12… · 10,000 rows × 12 columns · project 'churn'>``"""
    columns = len(data.get("schema", {}).get("columns", []))
    return (
        f"<DatasetVersion {data.get('name')!r}@{data.get('version')} {_short(data.get('digest'))} · "
        f"{format_number(data.get('rows'))} rows × {columns} columns · project {data.get('project')!r}>"
    )


def model_line(model: Mapping[str, Any]) -> str:
    """``<ModelVersion 'churn'@3 sklearn sha256:ab12… active · aliases champion · run 0190…>``"""
    parts = [f"<ModelVersion {model.get('name')!r}@{model.get('version')} {_flat(model.get('flavor'))}"]
    parts[0] += f" {_short(model.get('artifact_digest'))} {_flat(model.get('status'))}"
    if model.get("unsafe_format"):
        parts.append("unsafe format (pickle)")
    parts.append(f"project {model.get('project')!r}")
    if model.get("aliases"):
        parts.append("aliases " + ", ".join(_flat(a) for a in model["aliases"]))
    if model.get("run_id"):
        parts.append(f"run {model['run_id']}")
    datasets = model.get("datasets") or []
    if datasets:
        parts.append("trained on " + ", ".join(f"{_flat(d.get('dataset'))}" for d in datasets[:_LINE_ITEMS]))
    if model.get("gate_override"):
        parts.append("gate overridden")
    return " · ".join(parts) + ">"


def _short(digest: object) -> str:
    """``sha256:ab12cd34ef56…``: enough to tell versions apart; the HTML shows the whole digest."""
    text = str(digest or MISSING)
    algorithm, _, hexdigest = text.rpartition(":")
    return f"{algorithm}:{hexdigest[:12]}…" if algorithm and len(hexdigest) > 12 else text


# ---------------------------------------------------------------------------------------------- runs


_STATUS_NOTE = {
    "crashed": "its heartbeat stopped before it ended: the process died or lost the store",
    "running": "still running (or its heartbeat has not yet timed out)",
}


def _capped(rows: list[list[object]], noun: str) -> tuple[list[list[object]], str]:
    return rows[:MAX_ROWS], more(len(rows) - MAX_ROWS, noun)


def _value_table(values: Mapping[str, Any], head: tuple[str, str], *, numbers: bool = False) -> Markup:
    rows: list[list[object]] = [[k, format_number(v) if numbers else v] for k, v in values.items()]
    shown, note = _capped(rows, head[0] + "s")
    return table(head, shown, numeric=(1,) if numbers else (), note=note)


def run_html(run: RunLike) -> str:
    status = _status(run.status)
    took = _duration(run.start_time, run.end_time)
    facts: list[tuple[object, object]] = [
        ("Run id", code(run.id)),
        ("Project", run.project),
        ("Status", Markup(f"{badge(status)} {esc(_STATUS_NOTE.get(status, ''))}")),
        ("Started", utc(run.start_time)),
        ("Ended", utc(run.end_time) + (f" (after {took})" if took else "")),
    ]
    if run.parent_id:
        facts.append(("Parent run", code(run.parent_id)))
    parts: list[object] = [definition_list(facts)]
    for title, values, numbers in (("Params", run.params, False), ("Metrics", run.metrics, True)):
        if values:
            head = ("param", "value") if title == "Params" else ("metric", "latest value")
            parts += [subtitle(title), _value_table(values, head, numbers=numbers)]
    if run.tags:
        parts += [subtitle("Tags"), _value_table(run.tags, ("tag", "value"))]
    hint = f"History of a metric: sy.get_metric_history({run.id!r}, KEY)"
    parts.append(Markup(f'<p class="sy-note">{esc(hint)}</p>'))
    return block(f"Run {run.name}", *parts)


def _columns(runs: Iterable[RunLike]) -> tuple[list[str], list[str]]:
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for run in runs:
        params.update(dict.fromkeys(run.params))
        metrics.update(dict.fromkeys(run.metrics))
    return sorted(params), sorted(metrics)


def page_html(runs: Sequence[RunLike], next_page_token: str | None) -> str:
    """The runs as a table: run_id, name, status, start_time, then a params.X column per param and a
    metrics.X column per metric any of them has (as ``page_frame``); at most ``MAX_ROWS`` rows."""
    params, metrics = _columns(runs)
    keys = [("params", k) for k in params] + [("metrics", k) for k in metrics]
    shown_keys = keys[:MAX_COLUMNS]
    head = ["run_id", "name", "status", "start_time", *(f"{kind}.{key}" for kind, key in shown_keys)]
    rows = []
    for run in runs[:MAX_ROWS]:
        cells: list[object] = [code(run.id), run.name, badge(_status(run.status)), utc(run.start_time)]
        for kind, key in shown_keys:
            if kind == "params":
                cells.append(run.params.get(key, MISSING))
            else:
                cells.append(format_number(run.metrics.get(key)))
        rows.append(cells)
    numeric = [4 + i for i, (kind, _key) in enumerate(shown_keys) if kind == "metrics"]
    notes = [more(len(runs) - MAX_ROWS, "runs"), more(len(keys) - len(shown_keys), "columns")]
    note = "; ".join(n for n in notes if n)
    note += " (all of them in .to_pandas())" if note else ""
    if next_page_token:
        note += (". " if note else "") + f"More runs on the next page: page_token={next_page_token!r}"
    title = f"{len(runs):,} run{'' if len(runs) == 1 else 's'}"
    if not runs:
        return block(title, Markup('<p class="sy-note">No runs match.</p>'))
    return block(title, table(head, rows, numeric=numeric, nowrap=(0, 3), note=note))


def page_frame(runs: Sequence[RunLike]) -> pd.DataFrame:
    """Every run as a row of a pandas DataFrame with the columns of ``page_html``: ``start_time`` a UTC
    timestamp, params as strings (None where a run has not the param), metrics as floats (NaN where absent)."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependency(
            "RunPage.to_pandas() needs pandas, which is not installed. Install it with: pip install pandas "
            "(or pip install 'shipyard[pandas]')."
        ) from None
    params, metrics = _columns(runs)
    data: dict[str, Any] = {
        "run_id": [r.id for r in runs],
        "name": [r.name for r in runs],
        "status": [_status(r.status) for r in runs],
        "start_time": pd.to_datetime([r.start_time for r in runs], unit="ms", utc=True),
    }
    for key in params:
        data[f"params.{key}"] = pd.Series([r.params.get(key) for r in runs], dtype=object)
    for key in metrics:
        data[f"metrics.{key}"] = pd.Series([r.metrics.get(key, math.nan) for r in runs], dtype="float64")
    return pd.DataFrame(data)


# ---------------------------------------------------------------------------------------------- datasets


def _share(part: object, whole: object) -> str:
    if not isinstance(part, int | float) or not isinstance(whole, int | float) or whole <= 0:
        return MISSING
    return f"{part / whole:.1%}"


def _profile_chart(column: Mapping[str, Any]) -> object:
    """A numeric column's histogram, or the counts of a string or boolean column's most frequent values."""
    histogram = column.get("histogram")
    if isinstance(histogram, Mapping):
        edges, counts = histogram.get("edges") or [], histogram.get("counts") or []
        labels = [f"[{format_number(a)}, {format_number(b)})" for a, b in itertools.pairwise(edges)]
        title = f"{column.get('name')}: histogram of {len(counts)} bins"
        return Markup(sparkline(counts, labels=labels, title=title)) or MISSING
    top = column.get("top")
    if isinstance(top, list) and top:
        pairs = [p for p in top if isinstance(p, list | tuple) and len(p) == 2]
        title = f"{column.get('name')}: the {len(pairs)} most frequent values"
        return Markup(sparkline([p[1] for p in pairs], labels=[str(p[0]) for p in pairs], title=title)) or MISSING
    return MISSING


def _range(column: Mapping[str, Any]) -> str:
    low, high = column.get("min"), column.get("max")
    if low is None and high is None:
        return MISSING
    return f"{format_number(low)} … {format_number(high)}"


def dataset_html(data: Mapping[str, Any]) -> str:
    schema = [c for c in data.get("schema", {}).get("columns", []) if isinstance(c, Mapping)]
    profile = {c.get("name"): c for c in data.get("profile", {}).get("columns", []) if isinstance(c, Mapping)}
    rows_total = data.get("rows")
    ref = f"{data.get('name')}@{data.get('version')}"
    facts: list[tuple[object, object]] = [
        ("Project", data.get("project")),
        ("Digest", code(data.get("digest"))),
        ("Rows", format_number(rows_total)),
        ("Columns", format_number(len(schema))),
        ("Size", _bytes(data.get("size_bytes"))),
        ("Created", f"{utc(data.get('created_at'))} by {data.get('created_by') or MISSING}"),
    ]
    if data.get("description"):
        facts.append(("Description", data["description"]))
    rows: list[list[object]] = []
    for column in schema:
        stats = profile.get(column.get("name"), {})
        nulls = stats.get("nulls")
        rows.append(
            [
                column.get("name"),
                column.get("logical_type"),
                "yes" if column.get("nullable") else "no",
                f"{format_number(nulls)} ({_share(nulls, rows_total)})" if nulls is not None else MISSING,
                format_number(stats.get("distinct")),
                _range(stats),
                format_number(stats.get("mean")),
                _profile_chart(stats),
            ]
        )
    shown, note = rows[:MAX_ROWS], more(len(rows) - MAX_ROWS, "columns")
    head = ["column", "type", "nullable", "nulls", "distinct", "min … max", "mean", "distribution"]
    return block(
        f"Dataset {ref}",
        definition_list(facts),
        table(head, shown, numeric=(3, 4, 6), note=note),
        Markup(f'<p class="sy-note">{esc(f"As a table: sy.datasets.load({ref!r}{_where(data)})")}</p>'),
    )


def _where(entity: Mapping[str, Any]) -> str:
    project = entity.get("project")
    return "" if project in (None, "default") else f", project={project!r}"


def _bytes(size: object) -> str:
    if not isinstance(size, int) or isinstance(size, bool):
        return MISSING
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return MISSING  # unreachable: the loop returns at "GB"


# ---------------------------------------------------------------------------------------------- models


def model_html(model: Mapping[str, Any]) -> str:
    ref = f"{model.get('name')}@{model.get('version')}"
    project = model.get("project")
    aliases = model.get("aliases") or []
    status = str(model.get("status"))
    facts: list[tuple[object, object]] = [
        ("Project", project),
        ("Status", badge("ok" if status == "active" else "none", status)),
        ("Flavor", model.get("flavor")),
        ("Digest", code(model.get("artifact_digest"))),
        ("Aliases", Markup(" ".join(badge("running", a) for a in aliases)) if aliases else "none"),
        ("Created", f"{utc(model.get('created_at'))} by {model.get('created_by') or MISSING}"),
    ]
    if model.get("unsafe_format"):
        facts.append(("Format", badge("warn", "unsafe: pickle-based, runs code when loaded")))
    if model.get("description"):
        facts.append(("Description", model["description"]))
    lineage: list[tuple[object, object]] = [
        ("Training run", code(model["run_id"]) if model.get("run_id") else "none recorded"),
    ]
    for entry in model.get("datasets") or []:
        lineage.append((f"Data ({entry.get('role')})", entry.get("dataset")))
    if model.get("parents"):
        lineage.append(("Derived from", ", ".join(str(p) for p in model["parents"])))
    if model.get("gate_override"):
        lineage.append(("Gate overridden", badge("warn", f"reason: {model['gate_override']}")))
    inputs = [c for c in (model.get("signature") or {}).get("inputs", []) if isinstance(c, Mapping)]
    signature = table(
        ["input", "type", "nullable"],
        [[c.get("name"), c.get("type"), "yes" if c.get("nullable") else "no"] for c in inputs[:MAX_ROWS]],
        note=more(len(inputs) - MAX_ROWS, "inputs"),
    )
    where = _where(model)
    hint = (
        f"Lineage in full: sy.lineage({ref!r}{where}) · latest verdict: sy.gate.latest({ref!r}{where}), "
        f"its report: sy.gate.report({ref!r}{where})"
    )
    return block(
        f"Model {ref}",
        definition_list(facts),
        subtitle("Lineage"),
        definition_list(lineage),
        subtitle("Signature") if inputs else "",
        signature if inputs else "",
        Markup(f'<p class="sy-note">{esc(hint)}</p>'),
    )
