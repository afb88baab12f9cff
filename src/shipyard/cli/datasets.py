"""``shipyard datasets``: list dataset versions, show one's schema and profile, and what used it."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._output import console, print_json
from shipyard.cli._state import open_client, require_project

app = typer.Typer(
    help="List dataset versions, inspect their schema and profile, and trace who used them.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", help="The project (default: the configured one).", show_default=False)
]
DatasetRef = Annotated[str, typer.Argument(help="NAME (the newest version) or NAME@VERSION.", metavar="NAME[@VERSION]")]


def list_project(project: str | None, all_projects: bool) -> str | None:
    """The ``project`` argument of the services' ``list``: ``"*"`` for every project."""
    if all_projects and project:
        raise typer.BadParameter("give either --project or --all-projects, not both.", param_hint="--all-projects")
    return "*" if all_projects else project


def name_only(ref: str, what: str) -> str:
    """The name in ``ref``; ``--versions`` lists all of them, so a version or alias would be silently ignored."""
    from shipyard.core.refs import parse_ref

    parsed = parse_ref(ref, what)
    if "@" in ref:
        raise typer.BadParameter(f"--versions lists every version of a {what}; give NAME alone, e.g. {parsed.name!r}.")
    return parsed.name


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    project: ProjectOption = None,
    all_projects: Annotated[bool, typer.Option("--all-projects", "-A", help="Datasets of every project.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The newest version of each dataset: rows, columns, size, when and by whom it was registered."""
    where = list_project(project, all_projects)
    with open_client(ctx) as client:
        if project is not None:
            require_project(client, project)
        newest = client.datasets.list(where)
        shown_project = where or client.settings.project
    if as_json:
        print_json({"datasets": [version.to_dict() for version in newest]})
        return
    out = console()
    if not newest:
        scope = "any project" if all_projects else f"project {shown_project!r}"
        out.print(f"No datasets in {scope} yet. Register one with sy.datasets.register(name, table).", markup=False)
        return
    from shipyard.cli._registry_views import datasets_table

    out.print(datasets_table(newest, show_project=all_projects))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: DatasetRef,
    project: ProjectOption = None,
    versions: Annotated[bool, typer.Option("--versions", help="List every version of NAME instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One dataset version: digest, rows, size, and a row per column with its type and statistics."""
    from shipyard.cli import _registry_views as views

    with open_client(ctx) as client:
        if versions:
            found = client.datasets.versions(name_only(ref, "dataset"), project=project)
        else:
            version = client.datasets.get(ref, project=project)
    out = console()
    if versions:
        if as_json:
            print_json({"versions": [item.to_dict() for item in found]})
        else:
            out.print(views.dataset_versions_table(found))
        return
    if as_json:
        print_json(version.to_dict())
        return
    out.print(views.dataset_header(version), soft_wrap=True)  # the digest stays one line, to copy
    out.print()
    out.print(views.columns_table(views.column_rows(version)))


@app.command("lineage")
def lineage(ctx: typer.Context, ref: DatasetRef, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Who used a dataset version: the runs that read it and the model versions trained on it."""
    from shipyard.registry.lineage import DatasetLineage

    with open_client(ctx) as client:
        found = client.lineage(ref, kind="dataset", project=project)
    assert isinstance(found, DatasetLineage)
    if as_json:
        print_json(found.to_dict())
        return
    from shipyard.cli._registry_views import dataset_lineage_tree

    console().print(dataset_lineage_tree(found))
