"""What the ``datasets`` and ``models`` commands show: listings, one version in detail, lineage trees, audit.

``column_rows`` computes the per-column statistics a dataset version's schema and profile hold; the other
functions only draw. ``--json`` prints the entities' own ``to_dict()``, so nothing here shapes JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.cli._output import fmt_bytes, fmt_number, fmt_time, key_values, status_text, table, text

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

    from shipyard.core.entities import AuditEvent, DatasetVersion, ModelVersion, RegisteredModel, RunRecord
    from shipyard.registry.lineage import DatasetLineage, ModelLineage

DIGEST_SHOWN = len("sha256:") + 12
TOP_VALUES_SHOWN = 3
UNSAFE_HINT = "loads only with trust_unsafe=True"


def short_digest(digest: str) -> str:
    return digest[:DIGEST_SHOWN] + "…" if len(digest) > DIGEST_SHOWN else digest


def fmt_stat(value: Any) -> str:
    """A statistic as people read it: integers whole, floats to six figures, anything else as written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def fmt_summary(value: Any) -> str:
    """A computed statistic (mean, std, a quantile): four significant figures are all anyone reads."""
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else fmt_stat(value)


# datasets ----------------------------------------------------------------------------------------------


def datasets_table(versions: Sequence[DatasetVersion], *, show_project: bool) -> Table:
    grid = table(*(["project"] if show_project else []), "name", "version", "rows", "columns", "size", "created", "by")
    for header in ("version", "rows", "columns", "size"):
        grid.columns[_index(grid, header)].justify = "right"
    for item in versions:
        cells = [text(item.project)] if show_project else []
        cells += [
            text(item.name),
            text(item.version),
            text(f"{item.rows:,}"),
            text(len(item.columns)),
            text(fmt_bytes(item.size_bytes)),
            text(fmt_time(item.created_at)),
            text(item.created_by),
        ]
        grid.add_row(*cells)
    return grid


def dataset_versions_table(versions: Sequence[DatasetVersion]) -> Table:
    described = any(item.description for item in versions)
    grid = table(
        "version", "digest", "rows", "columns", "size", "created", "by", *(["description"] if described else [])
    )
    for header in ("version", "rows", "columns", "size"):
        grid.columns[_index(grid, header)].justify = "right"
    for header in ("digest", "created"):
        grid.columns[_index(grid, header)].no_wrap = True
    for item in versions:
        cells = [
            text(item.version),
            text(short_digest(item.digest)),
            text(f"{item.rows:,}"),
            text(len(item.columns)),
            text(fmt_bytes(item.size_bytes)),
            text(fmt_time(item.created_at)),
            text(item.created_by),
        ]
        grid.add_row(*cells, *([text(item.description)] if described else []))
    return grid


def dataset_header(version: DatasetVersion) -> Text:
    rows: dict[str, str | Text] = {
        "digest": version.digest,
        "rows": f"{version.rows:,}",
        "columns": str(len(version.columns)),
        "size": fmt_bytes(version.size_bytes),
        "created": f"{fmt_time(version.created_at)} by {version.created_by}",
    }
    if version.description:
        rows["description"] = version.description
    return key_values(rows, title=f"{version.ref}  (project {version.project})")


def column_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """One dict per column, schema and profile merged: type, nullable, nulls, distinct, min … p50, top values.

    The layout is ``shipyard.data.schema``'s: ``quantiles`` keyed ``"0.5"``, ``top`` as ``[value, count]`` pairs.
    """
    profiled = {stats["name"]: stats for stats in version.profile.get("columns", [])}
    rows = []
    for column in version.schema.get("columns", []):
        stats = profiled.get(column["name"], {})
        nulls = stats.get("nulls")
        rows.append(
            {
                "name": column["name"],
                "type": column.get("logical_type", ""),
                "nullable": column.get("nullable"),
                "nulls": nulls,
                "null_share": nulls / version.rows if nulls is not None and version.rows else None,
                "distinct": stats.get("distinct"),
                "min": stats.get("min"),
                "max": stats.get("max"),
                "mean": stats.get("mean"),
                "std": stats.get("std"),
                "p50": (stats.get("quantiles") or {}).get("0.5"),
                "top": [(value, count) for value, count in stats.get("top") or []],
            }
        )
    return rows


def _bound(value: Any, logical_type: str) -> str:
    # '2024-01-01 00:00:00' rather than ISO's 'T' lets a narrow table wrap between the date and the time.
    return value.replace("T", " ", 1) if logical_type == "datetime" and isinstance(value, str) else fmt_stat(value)


def columns_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    headers = ("column", "type", "nullable", "nulls", "distinct", "min", "max", "mean", "std", "p50")
    show_top = any(row["top"] for row in rows)
    grid = table(*headers, *(["top values"] if show_top else []))
    for header in ("nulls", "distinct", "min", "max", "mean", "std", "p50"):
        grid.columns[_index(grid, header)].justify = "right"
    for header in ("column", "type", "nullable", "nulls", "distinct", "mean", "std", "p50"):  # min, max may be long
        grid.columns[_index(grid, header)].no_wrap = True
    for row in rows:
        nulls = fmt_stat(row["nulls"])
        if row["null_share"] is not None and row["nulls"]:
            nulls += f" ({row['null_share']:.1%})"
        cells = [
            text(row["name"], "bold"),
            text(row["type"]),
            text({True: "yes", False: "no"}.get(row["nullable"], "")),
            text(nulls),
            text(fmt_stat(row["distinct"])),
            *(text(_bound(row[key], row["type"])) for key in ("min", "max")),
            *(text(fmt_summary(row[key])) for key in ("mean", "std", "p50")),
        ]
        if show_top:
            shown = row["top"][:TOP_VALUES_SHOWN]
            more = " …" if len(row["top"]) > TOP_VALUES_SHOWN else ""
            cells.append(text(", ".join(f"{value} ({fmt_stat(count)})" for value, count in shown) + more))
        grid.add_row(*cells)
    return grid


# models ------------------------------------------------------------------------------------------------


def fmt_aliases(aliases: Mapping[str, int]) -> str:
    return ", ".join(f"{alias}→{version}" for alias, version in sorted(aliases.items()))


def models_table(models: Sequence[RegisteredModel], *, show_project: bool) -> Table:
    grid = table(*(["project"] if show_project else []), "name", "latest", "aliases", "created")
    grid.columns[_index(grid, "latest")].justify = "right"
    for model in models:
        cells = [text(model.project)] if show_project else []
        latest = "-" if model.latest_version is None else model.latest_version
        cells += [text(model.name), text(latest), text(fmt_aliases(model.aliases)), text(fmt_time(model.created_at))]
        grid.add_row(*cells)
    return grid


def model_versions_table(versions: Sequence[ModelVersion]) -> Table:
    grid = table("version", "status", "flavor", "aliases", "run", "created", "by")
    grid.columns[0].justify = "right"
    grid.columns[_index(grid, "created")].no_wrap = True
    for item in versions:
        flavor = text(item.flavor)
        if item.unsafe_format:
            flavor.append(" (unsafe)", style="bold red")
        grid.add_row(
            text(item.version),
            text(item.status, "" if item.status == "active" else "dim"),
            flavor,
            text(", ".join(item.aliases)),
            text(item.run_id or "-"),
            text(fmt_time(item.created_at)),
            text(item.created_by),
        )
    return grid


def unsafe_text(unsafe: bool) -> Text:
    if not unsafe:
        return text("no")
    return text(f"yes: pickle-based, {UNSAFE_HINT}", "bold red")


def model_detail(version: ModelVersion) -> list[RenderableType]:
    attributes: dict[str, str | Text] = {
        "version": str(version.version),
        "flavor": version.flavor,
        "unsafe format": unsafe_text(version.unsafe_format),
        "status": text(version.status, "green" if version.status == "active" else "dim"),
        "run": version.run_id or "- (registered outside a run)",
        "created": f"{fmt_time(version.created_at)} by {version.created_by}",
        "aliases": ", ".join(version.aliases) or "-",
        "digest": version.artifact_digest,
    }
    if version.description:
        attributes["description"] = version.description
    parts: list[RenderableType] = [key_values(attributes, title=f"{version.ref}  (project {version.project})")]
    parts.append(section("Tags", dict(sorted(version.tags.items())), "no tags set"))
    parts.append(signature_view(version.signature))
    parts.append(section("Trained on", dict(version.datasets), "no dataset versions recorded"))
    parts.append(bullets("Parents", version.parents, "none"))
    parts.append(section("Environment", package_environment(version.package.get("environment", {})), "not recorded"))
    return parts


def package_environment(env: Mapping[str, Any]) -> dict[str, str]:
    """``{"python": "3.11.7", "libraries": {"scikit-learn": "1.5.2"}}`` as one line per library."""
    rows = {"python": str(env["python"])} if env.get("python") else {}
    libraries = env.get("libraries")
    if isinstance(libraries, Mapping):
        rows.update({str(name): str(release) for name, release in sorted(libraries.items())})
    return rows


def signature_view(signature: Mapping[str, Any]) -> RenderableType:
    inputs = signature.get("inputs") or []
    if not inputs:
        return section("Signature", {}, "none recorded")
    from rich.console import Group
    from rich.padding import Padding

    grid = table("input", "type", "nullable")
    for column in inputs:
        nullable = "yes" if column.get("nullable") else "no"
        grid.add_row(text(column.get("name")), text(column.get("type")), text(nullable))
    output = signature.get("output") or "unknown"
    shape = signature.get("output_shape") or []
    if shape:
        output += f", shape ({', '.join(map(str, shape))},) per row"
    footer = text("  output  ", "dim")
    footer.append(output)
    return Group(text("Signature", "bold"), Padding(grid, (0, 0, 0, 2), expand=False), footer)


def section(title: str, rows: Mapping[str, str], empty: str) -> RenderableType:
    if not rows:
        out = text(title, "bold")
        out.append(f"\n  {empty}", style="dim italic")
        return out
    return key_values(rows, title=title)


def bullets(title: str, items: Sequence[str], empty: str) -> Text:
    out = text(title, "bold")
    for item in items:
        out.append("\n  ")
        out.append(text(item))
    if not items:
        out.append(f"\n  {empty}", style="dim italic")
    return out


def alias_change(name: str, alias: str, old: int | None, new: int | None) -> str:
    before = f"{name}@{old}" if old is not None else "(unset)"
    after = f"{name}@{new}" if new is not None else "(deleted)"
    return f"{alias}: {before} → {after}" + ("  (unchanged)" if old == new else "")


def audit_table(events: Sequence[AuditEvent]) -> Table:
    grid = table("time", "actor", "action", "subject", "details")
    for column in grid.columns[:4]:
        column.no_wrap = True
    for event in events:
        details = ", ".join(f"{key}={_detail(value)}" for key, value in sorted(event.details.items()))
        grid.add_row(
            text(fmt_time(event.at)), text(event.actor), text(event.action), text(event.subject), text(details)
        )
    return grid


def _detail(value: Any) -> str:
    return "-" if value is None else fmt_stat(value)


# lineage -----------------------------------------------------------------------------------------------


def model_lineage_tree(lineage: ModelLineage) -> Tree:
    """model version → run (with its code) → datasets it used → the versions the model derives from."""
    from rich.tree import Tree

    model = lineage.model
    tree = Tree(_model_label(model))
    datasets = _merge_datasets(lineage.trained_on, lineage.run_inputs)
    if lineage.run is not None:
        branch = tree.add(_run_label(lineage.run))
    else:
        why = f"run {model.run_id} (purged)" if model.run_id else "no run (registered outside a run)"
        branch = tree.add(text(why, "dim"))
    if datasets:
        data = branch.add(text("datasets", "bold"))
        for role, version in datasets:
            data.add(_dataset_label(version, role))
    else:
        branch.add(text("no datasets recorded", "dim italic"))
    if lineage.parents:
        parents = tree.add(text("parents", "bold"))
        for parent in lineage.parents:
            parents.add(_model_label(parent))
    return tree


def _merge_datasets(*groups: Iterable[tuple[str, DatasetVersion]]) -> list[tuple[str, DatasetVersion]]:
    """The model's own dataset links and its run's inputs, each (role, version) once."""
    seen: dict[tuple[str, str], tuple[str, DatasetVersion]] = {}
    for group in groups:
        for role, version in group:
            seen.setdefault((role, version.ref), (role, version))
    return list(seen.values())


def dataset_lineage_tree(lineage: DatasetLineage) -> Tree:
    """dataset version → the runs that used it (and the model versions they logged from it) → other models."""
    from rich.tree import Tree

    tree = Tree(_dataset_label(lineage.dataset))
    runs = tree.add(text("runs", "bold"))
    for role, run in lineage.runs:
        node = runs.add(_run_label(run, role=role))
        for model_role, model in lineage.models:
            if model.run_id == run.id:
                node.add(_model_label(model, role=model_role))
    if not lineage.runs:
        runs.add(text("no run recorded using it", "dim italic"))
    shown_runs = {run.id for _, run in lineage.runs}
    others = [(role, model) for role, model in lineage.models if model.run_id not in shown_runs]
    if others:
        models = tree.add(text("model versions", "bold"))
        for role, model in others:
            models.add(_model_label(model, role=role))
    elif not lineage.models:
        tree.add(text("no model version trained on it", "dim italic"))
    return tree


def _model_label(model: ModelVersion, *, role: str | None = None) -> Text:
    label = text(f"{role}  ", "cyan") if role else text("")
    label.append(text(model.ref, "bold"))
    label.append(f"  {model.flavor}, {model.status}", style="dim")
    if model.aliases:
        label.append(f"  [{', '.join(model.aliases)}]", style="yellow")
    if model.unsafe_format:
        label.append("  unsafe format", style="bold red")
    return label


def _run_label(run: RunRecord, *, role: str | None = None) -> Text:
    label = text(f"{role}  ", "cyan") if role else text("")
    label.append("run ")
    label.append(text(run.id, "bold"))
    label.append(f"  {run.name}  ")
    label.append(status_text(run.status, deleted=run.deleted))
    git = run.environment.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        label.append(f"  git {str(git['commit'])[:12]}", style="dim")
        if git.get("dirty"):
            label.append(" dirty", style="bold red")
    elif run.environment:
        label.append("  not a git checkout", style="dim")
    return label


def _dataset_label(version: DatasetVersion, role: str | None = None) -> Text:
    label = text(f"{role}  ", "cyan") if role else text("")
    label.append(text(version.ref, "bold"))
    label.append(f"  {short_digest(version.digest)}  {version.rows:,} rows", style="dim")
    return label


def _index(grid: Table, header: str) -> int:
    return next(i for i, column in enumerate(grid.columns) if column.header == header)
