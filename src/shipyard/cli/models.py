"""``shipyard models``: list and inspect model versions, move aliases, canaries, lineage, retire versions, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._output import confirm, console, print_json
from shipyard.cli._state import open_client, require_project
from shipyard.cli.datasets import JsonOption, ProjectOption, list_project, name_only
from shipyard.core.errors import NotFound

if TYPE_CHECKING:
    from shipyard.core.entities import Canary
    from shipyard.registry.service import Models

app = typer.Typer(
    help="List and inspect model versions, move aliases, run canaries, trace lineage, archive and delete versions.",
    no_args_is_help=True,
)

ModelRef = Annotated[
    str,
    typer.Argument(
        help="NAME (the newest active version), NAME@VERSION or NAME@ALIAS.", metavar="NAME[@VERSION|@ALIAS]"
    ),
]
ModelName = Annotated[str, typer.Argument(help="The registered model's name.", metavar="NAME")]
Version = Annotated[int, typer.Argument(help="The version number.", min=1, metavar="VERSION")]


@app.command("list")
def list_models(
    ctx: typer.Context,
    project: ProjectOption = None,
    all_projects: Annotated[bool, typer.Option("--all-projects", "-A", help="Models of every project.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Registered models: the latest version and where each alias points."""
    where = list_project(project, all_projects)
    with open_client(ctx) as client:
        if project is not None:
            require_project(client, project)
        models = client.models.list(where)
        shown_project = where or client.settings.project
    if as_json:
        print_json({"models": [model.to_dict() for model in models]})
        return
    out = console()
    if not models:
        scope = "any project" if all_projects else f"project {shown_project!r}"
        out.print(f"No models in {scope} yet. Register one with run.log_model(model, name).", markup=False)
        return
    from shipyard.cli._registry_views import models_table

    out.print(models_table(models, show_project=all_projects))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: ModelRef,
    project: ProjectOption = None,
    versions: Annotated[bool, typer.Option("--versions", help="List every version of NAME instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One model version: flavor, safety of its format, status, run, aliases, tags, signature, data, environment."""
    from shipyard.cli import _registry_views as views

    with open_client(ctx) as client:
        if versions:
            found = client.models.versions(name_only(ref, "model"), project=project)
            running = client.models.canary(name_only(ref, "model"), project=project)
        else:
            version = client.models.get(ref, project=project)
            running = client.models.canary(version.name, project=version.project)
    out = console()
    if versions:
        if as_json:
            print_json({"versions": [item.to_dict() for item in found], "canary": running and running.to_dict()})
        elif not found:
            out.print(f"Model {ref!r} has no versions left (all deleted).", markup=False)
        else:
            out.print(views.model_versions_table(found))
        if running is not None and not as_json:
            out.print(_canary_line(running), markup=False)
        return
    if as_json:
        print_json({**version.to_dict(), "canary": running and running.to_dict()})
        return
    header, *sections = views.model_detail(version)
    out.print(header, soft_wrap=True)  # the digest stays on one line, to copy
    if running is not None:
        out.print(_canary_line(running), markup=False)
    for part in sections:
        out.print()
        out.print(part)


def _canary_line(canary: Canary) -> str:
    from shipyard.cli._output import fmt_time

    why = f": {canary.reason}" if canary.reason else ""
    return (
        f"canary: {canary.ref} takes {_percent(canary.share)} of traffic, since {fmt_time(canary.started_at)} "
        f"(by {canary.started_by}){why}"
    )


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


@app.command("canary")
def canary(
    ctx: typer.Context,
    name: ModelName,
    version: Version,
    share: Annotated[
        float,
        typer.Option(
            "--share", metavar="PERCENT", help="The percentage of traffic to send to VERSION (above 0, at most 50)."
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "",
    override: Annotated[
        bool, typer.Option("--override", help="Set the gate aside (admins only; --reason says why).")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send PERCENT of NAME's live traffic to VERSION on every running server, with no restart.

    VERSION needs a passing verdict under the gate policy in force (exit 1 otherwise), as champion does.
    Servers started without --canary or --shadow load VERSION at their next poll; end the canary with
    `shipyard models canary-end NAME --outcome …`.
    """
    if override and not reason.strip():
        raise typer.BadParameter('--override needs --reason "…" saying why.', param_hint="--reason")
    if not 0 < share <= 50:
        raise typer.BadParameter(
            f"--share is a percentage of traffic above 0 and at most 50 (e.g. 10); got {share:g}. "
            "To send more, promote the version instead.",
            param_hint="--share",
        )
    with open_client(ctx) as client:
        started = client.models.start_canary(
            name, version, share / 100, reason=reason, project=project, override_reason=reason if override else None
        )
    if as_json:
        print_json(started.to_dict())
        return
    typer.echo(
        f"Started a canary: {started.ref} takes {_percent(started.share)} of {name}'s traffic on running servers "
        f"from their next poll. End it with: shipyard models canary-end {name} --outcome promoted|rolled_back|stopped"
    )


@app.command("canary-end")
def canary_end(
    ctx: typer.Context,
    name: ModelName,
    outcome: Annotated[
        str, typer.Option("--outcome", metavar="OUTCOME", help="How it ended: promoted, rolled_back or stopped.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """End NAME's running canary; running servers stop sending it traffic at their next poll.

    No alias moves: after --outcome promoted, give the version the champion alias with `shipyard promote`.
    """
    with open_client(ctx) as client:
        ended = client.models.end_canary(name, outcome, reason=reason, project=project)
        champion = _alias_target(client.models, name, "champion", project)
    if as_json:
        print_json(ended.to_dict())
        return
    promote = ended.state == "promoted" and champion != ended.version
    next_step = f" Promote it with: shipyard promote {ended.ref}" if promote else ""
    typer.echo(f"Ended the canary {ended.ref} as {ended.state}; no alias moved.{next_step}")


@app.command("alias")
def alias(
    ctx: typer.Context,
    name: ModelName,
    version: Annotated[
        int | None, typer.Argument(help="The version the alias should point at.", min=1, metavar="VERSION")
    ] = None,
    alias_name: Annotated[str | None, typer.Argument(metavar="ALIAS", help="e.g. challenger, prod-eu.")] = None,
    delete: Annotated[str | None, typer.Option("--delete", "-d", metavar="ALIAS", help="Remove this alias.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point ALIAS at VERSION (NAME VERSION ALIAS), or remove one (NAME --delete ALIAS).

    Protected aliases (champion by default) only point at versions that hold a passing gate verdict.
    """
    if delete is not None and (version is not None or alias_name is not None):
        raise typer.BadParameter("give either VERSION ALIAS to set an alias or --delete ALIAS, not both.")
    if delete is None and (version is None or alias_name is None):
        raise typer.BadParameter("give VERSION and ALIAS (e.g. `churn 3 challenger`), or --delete ALIAS.")
    from shipyard.cli._registry_views import alias_change

    old: int | None
    new: int | None
    with open_client(ctx) as client:
        if delete is not None:
            label, new = delete, None
            old = client.models.delete_alias(name, delete, project=project)
        else:
            assert version is not None and alias_name is not None  # checked above
            label = alias_name
            old = _alias_target(client.models, name, alias_name, project)
            new = client.models.set_alias(name, version, alias_name, project=project).version
    if as_json:
        print_json({"name": name, "alias": label, "old_version": old, "new_version": new})
    else:
        typer.echo(alias_change(name, label, old, new))


def _alias_target(models: Models, name: str, alias: str, project: str | None) -> int | None:
    """The version ``alias`` points at now, or None; the registry itself reports a missing model when setting."""
    try:
        return models.get(f"{name}@{alias}", project=project).version
    except NotFound:
        return None


@app.command("lineage")
def lineage(ctx: typer.Context, ref: ModelRef, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Where a model version came from: its run and code commit, the datasets, the versions it derives from."""
    from shipyard.registry.lineage import ModelLineage

    with open_client(ctx) as client:
        found = client.lineage(ref, kind="model", project=project)
    assert isinstance(found, ModelLineage)
    if as_json:
        print_json(found.to_dict())
        return
    from shipyard.cli._registry_views import model_lineage_tree

    console().print(model_lineage_tree(found))


@app.command("archive")
def archive(
    ctx: typer.Context, name: ModelName, version: Version, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """Retire a version: kept and loadable by number, but no longer the newest for NAME and unable to take aliases."""
    with open_client(ctx) as client:
        archived = client.models.archive(name, version, project=project)
    if as_json:
        print_json(archived.to_dict())
    else:
        typer.echo(f"Archived {archived.ref}. Undo with: shipyard models restore {name} {version}")


@app.command("restore")
def restore(
    ctx: typer.Context, name: ModelName, version: Version, project: ProjectOption = None, as_json: JsonOption = False
) -> None:
    """Make an archived version active again."""
    with open_client(ctx) as client:
        restored = client.models.restore(name, version, project=project)
    if as_json:
        print_json(restored.to_dict())
    else:
        typer.echo(f"Restored {restored.ref}; it is active again.")


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: ModelName,
    version: Version,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a version for good (its number is never reused). Refused while it holds an alias."""
    with open_client(ctx) as client:
        target = client.models.get(f"{name}@{version}", project=project)
        # A version holding an alias is refused by the registry with the reason; asking first would be pointless.
        if not (target.aliases or yes or confirm(f"Delete {target.ref} for good?", action=f"delete {target.ref}")):
            typer.echo("Nothing deleted.", err=True)
            raise typer.Exit(1)
        client.models.delete_version(name, version, project=project)
    if as_json:
        print_json({"deleted": target.ref})
    else:
        typer.echo(f"Deleted {target.ref}. Its number is never reused.")


@app.command("audit")
def audit(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Only this model's events.", metavar="[NAME]", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many events.")] = 50,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log, newest first: alias moves, overrides, policies, verdicts, archives, deletions, registrations.

    Check that it is whole with `shipyard audit verify`.
    """
    with open_client(ctx) as client:
        if project is not None:
            require_project(client, project)
        events = client.models.audit_log(name, project=project, limit=limit)
        shown_project = project or client.settings.project
    if as_json:
        print_json({"events": [event.to_dict() for event in events]})
        return
    out = console()
    if not events:
        subject = f" for model {name!r}" if name else ""
        out.print(f"No audit events{subject} in project {shown_project!r}.", markup=False)
        return
    from shipyard.cli._registry_views import audit_table

    out.print(audit_table(events))
