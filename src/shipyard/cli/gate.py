"""``shipyard gate``, ``shipyard promote`` and ``shipyard rollback``: the release gate on the command line.

``gate run`` exits 0 when the verdict passes, 1 when it fails, 2 for a bad policy or input. Against a
server the server runs the gate and stores the verdict; ``--local`` computes it here and stores nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._output import console, print_json
from shipyard.cli._state import open_client
from shipyard.cli.datasets import JsonOption, ProjectOption

app = typer.Typer(help="Run the release gate, read verdicts and reports, check the policy.", no_args_is_help=True)

ModelRef = Annotated[str, typer.Argument(help="NAME@VERSION (or NAME@ALIAS).", metavar="NAME@VERSION")]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="A TOML file with a [gate] table (default: shipyard.toml).")
]

_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "error": "ERROR"}
_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "error": "bold red"}


@app.command("run")
def run(
    ctx: typer.Context,
    ref: ModelRef,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", "-d", help="The eval dataset: NAME or NAME@VERSION (default: the policy's [gate] data)."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Preview another policy file (default: the policy in force; cannot promote)."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Compute the gate in this process and store nothing: a PREVIEW that cannot promote (against a "
            "server, without --local the server runs the gate and stores the verdict).",
        ),
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the policy in force on a model version, with the evaluation data it names; store and print the verdict.

    Against a team server the server runs the gate and stores the verdict; with --local (or --policy against
    a server) it runs here and nothing is stored. Exit 0 when the verdict passes and can promote (or passes as
    an asked-for --policy or --local preview), 1 when it fails or is a preview that cannot promote, 2 for a
    bad policy or input.
    """
    from shipyard.gates import Gate
    from shipyard.gates.report import render_html, render_markdown, render_text_lines

    with open_client(ctx) as client:
        verdict = Gate(client).evaluate(ref, data=data, policy=policy, project=project, local=local)
        stored = verdict.report_digest is not None
        document = {**verdict.to_dict(), "stored": stored, "report_command": f"shipyard gate report {ref}"}
        if stored:
            report = client.backend.blobs.read_bytes(str(verdict.report_digest)).decode()
        else:  # a preview computed here: its report exists only in the file written below
            document.pop("report_command")
            report = render_html(document)
    html_path = html or Path(report_file_name(verdict.model["name"], verdict.model["version"]))
    write_text(html_path, report)
    if markdown is not None:
        write_text(markdown, render_markdown(document))
    if as_json:
        print_json({**document, "report_path": str(html_path)})
    else:
        out = console()
        for line in render_text_lines(document):  # worst first, as the report orders them
            status = next((s for s, label in _MARK.items() if f"  {label}  " in f"{line}  "), "")
            out.print(line, style=_STYLE.get(status, ""), markup=False, highlight=False)
        banner = "PASSED" if verdict.passed else "FAILED"
        if not stored:
            banner = f"PREVIEW {banner} (computed here, not stored; it cannot promote)"
        elif not verdict.binding:
            banner += f" (a preview that cannot promote: {verdict.preview_reason})"
        out.print(
            f"gate {banner} for {verdict.model['name']}@{verdict.model['version']} on "
            f"{verdict.data['name']}@{verdict.data['version']}; report: {html_path}",
            style="bold green" if verdict.passed and verdict.binding else "bold red",
            markup=False,
            highlight=False,
        )
        for note in verdict.notes:
            typer.secho(f"note: {note}", fg="yellow", err=True)
    asked_for_preview = policy is not None or local
    raise typer.Exit(0 if verdict.passed and (verdict.binding or asked_for_preview) else 1)


def report_file_name(name: str, version: int) -> str:
    """``gate-NAME-VERSION.html`` in the working folder; a name's ``/`` (``team/churn``) is not a folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "model"
    return f"gate-{safe}-{version}.html"


def write_text(path: Path, text: str) -> None:
    from shipyard.core.errors import InvalidInput

    try:
        path.write_text(text)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write {path}: {exc.strerror or exc}. Choose a path in a folder that exists."
        ) from exc


@app.command("report")
def report(
    ctx: typer.Context,
    ref: ModelRef,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the HTML here (default: gate-NAME-VERSION.html; '-' prints it)."),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """The HTML report of a version's newest verdict, written to a file."""
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        version = client.models.get(ref, project=project)
        document = Gate(client).report(version, project=project)
    if out is not None and str(out) == "-":
        typer.echo(document)
        return
    path = out or Path(report_file_name(version.name, version.version))
    write_text(path, document)
    typer.echo(f"wrote {path}")


policy_app = typer.Typer(
    help="The gate policy: validate the file, see the policy in force, apply a new one, its history.",
    invoke_without_command=True,
)
app.add_typer(policy_app, name="policy")


@policy_app.callback()
def show_policy(
    ctx: typer.Context,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="A TOML file with a [gate] table (default: shipyard.toml).")
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate the policy file and print it with its digest, and whether it is the policy in force."""
    if ctx.invoked_subcommand is not None:
        return
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        gate = Gate(client)
        found = gate.policy(policy)
        stored = client.backend.policies.in_force(project or client.settings.project)
    in_force = stored is not None and stored.digest == found.digest
    document = {
        **found.to_dict(),
        "digest": found.digest,
        "source": found.source,
        "in_force": in_force,
        "in_force_version": None if stored is None else stored.version,
        "in_force_digest": None if stored is None else stored.digest,
    }
    if as_json:
        print_json(document)
        return
    typer.echo(f"{found.source}: {len(found.checks)} check(s), digest {found.digest}")
    for check in found.checks:
        extra = ", ".join(f"{k}={v!r}" for k, v in check.values.items() if v is not None)
        typer.echo(f"  {check.name} ({check.severity}): {extra}")
    if not found.blocking:
        typer.secho('warning: no check blocks (none, or all severity = "warn"): nothing can pass.', fg="yellow")
    if stored is None:
        typer.echo("No policy is in force yet; the first gate run applies this one (or: shipyard gate policy apply).")
    elif in_force:
        typer.echo(f"This is the policy in force (version {stored.version}).")
    else:
        typer.echo(
            f"This is NOT the policy in force (version {stored.version}, digest {stored.digest}); "
            "see `shipyard gate policy diff`, make it the one in force with `shipyard gate policy apply`."
        )


@policy_app.command("apply")
def apply_policy(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="The policy file (default: shipyard.toml).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why; required when the change weakens the gate.")] = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make the file's [gate] policy the one in force in the project (audited, with the diff)."""
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        applied, found = Gate(client).apply(file, reason=reason, project=project)
    if as_json:
        print_json({**applied.to_dict(), "changes": [{"text": c.text, "weakens": c.weakens} for c in found]})
        return
    if not found:
        typer.echo(f"Already in force: version {applied.version} of project {applied.project!r} ({applied.digest}).")
        return
    typer.echo(f"Policy version {applied.version} is now in force in project {applied.project!r} ({applied.digest}):")
    for change in found:
        typer.echo(f"  {'weakens: ' if change.weakens else ''}{change.text}")


@policy_app.command("diff")
def diff_policy(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="The policy file (default: shipyard.toml).")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """How the file's policy differs from the one in force (what `apply` would change)."""
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        found = Gate(client).changes_from(file, project)
    if as_json:
        print_json({"changes": [{"text": c.text, "weakens": c.weakens} for c in found]})
        return
    if not found:
        typer.echo("No difference: the file is the policy in force.")
    for change in found:
        typer.echo(f"{'weakens: ' if change.weakens else ''}{change.text}")


@policy_app.command("history")
def policy_history(ctx: typer.Context, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Every policy applied in the project, newest (the one in force) first."""
    from shipyard.cli._output import fmt_time
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        found = Gate(client).history(project)
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    if not found:
        typer.echo("No policy applied yet.")
    for item in found:
        how = "implicitly, as the first" if item.implicit else "by hand"
        why = f": {item.reason}" if item.reason else ""
        typer.echo(
            f"v{item.version}  {fmt_time(item.applied_at)}  {item.applied_by}  {item.digest[:19]}  {how} from "
            f"{item.source}{why}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gate")

    @root.command("promote")
    def promote(
        ctx: typer.Context,
        ref: ModelRef,
        alias: Annotated[str, typer.Option("--alias", "-a", help="The alias to give it.")] = "champion",
        override: Annotated[bool, typer.Option("--override", help="Set the gate aside (admins only).")] = False,
        reason: Annotated[str | None, typer.Option("--reason", help="Why the gate is set aside.")] = None,
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Give a version an alias; a protected one (champion) needs a passing verdict under the policy in force."""
        if override and not reason:
            raise typer.BadParameter('--override needs --reason "…" saying why.', param_hint="--reason")
        if reason and not override:
            raise typer.BadParameter("--reason goes with --override.", param_hint="--reason")
        with open_client(ctx) as client:
            version = client.models.promote(ref, alias, project=project, override_reason=reason if override else None)
        if as_json:
            print_json(version.to_dict())
        else:
            typer.echo(f"{version.ref} is now {alias!r}" + (" (gate overridden, audited)" if override else ""))

    @root.command("rollback")
    def rollback(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="The registered model's name.", metavar="NAME")],
        override: Annotated[bool, typer.Option("--override", help="Set the gate aside (admins only).")] = False,
        reason: Annotated[str | None, typer.Option("--reason", help="Why the gate is set aside.")] = None,
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Point champion back at previous-champion (and previous-champion at the version left).

        The restored version needs a passing verdict under the policy in force today (exit 1 otherwise).
        """
        if override and not reason:
            raise typer.BadParameter('--override needs --reason "…" saying why.', param_hint="--reason")
        if reason and not override:
            raise typer.BadParameter("--reason goes with --override.", param_hint="--reason")
        with open_client(ctx) as client:
            left, restored = client.models.rollback(name, project=project, override_reason=reason if override else None)
        if as_json:
            print_json({"name": name, "from": left, "to": restored})
        else:
            typer.echo(f"champion: {name}@{left} → {name}@{restored}; previous-champion is now {name}@{left}")


@app.command("score")
def score(
    ctx: typer.Context,
    policy: PolicyOption = None,
    monitors: Annotated[
        Path | None,
        typer.Option(
            "--monitors", help="A TOML file with [[monitor]] tables (default: shipyard.toml).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The ML Test Score (Breck et al., 2017) of the policy, the monitors and Shipyard's own automation; exit 0."""
    from rich.text import Text

    from shipyard.cli._output import key_values, table, text
    from shipyard.cli._state import load_settings
    from shipyard.core.config import CONFIG_FILE
    from shipyard.gates.policy import load_policy
    from shipyard.gates.score import PLATFORM, SECTIONS, ItemScore
    from shipyard.gates.score import score as rubric_score
    from shipyard.monitoring.config import load_monitors

    root = load_settings(ctx).root  # needs no store: it reads and validates the files as `gate policy` and `monitor` do
    found = rubric_score(load_policy(root, policy), monitors=load_monitors(root, monitors))
    if as_json:
        print_json(found.to_dict())
        return

    def covered_by(entry: ItemScore) -> Text:
        parts = [", ".join(entry.checks)] if entry.checks else []
        parts += ["monitors: " + ", ".join(entry.monitors)] if entry.monitors else []
        parts += ["platform: " + ", ".join(entry.platform)] if entry.platform else []
        if parts:
            return text("; ".join(parts), "green")
        todo = ["add a check: " + ", ".join(str(by) for by in entry.item.kinds)] if entry.item.kinds else []
        todo += ["add to a [[monitor]]: " + "; ".join(str(by) for by in entry.item.rules)] if entry.item.rules else []
        if not todo:
            return text(entry.item.hint or "-", "dim")
        label = text("; or ".join(todo), "red")
        if entry.item.hint:
            label.append(f"  ({entry.item.hint})", style="dim")
        return label

    out = console()
    sections = found.sections
    for section, title in SECTIONS.items():
        grid = table("test", "covered by", "points", title=f"{title}: {sections[section]:g} / 7")
        for entry in found.items:
            if entry.item.section == section:
                grid.add_row(text(f"{entry.item.id}  {entry.item.title}"), covered_by(entry), f"{entry.points:g}")
        out.print(grid)
        out.print()
    used = sorted({name for entry in found.items for name in entry.platform})
    out.print(key_values({name: PLATFORM[name] for name in used}, title="platform: what Shipyard does on its own"))
    if found.rules:
        earned: dict[str, str | Text] = {
            f"{r.monitor}/{r.rule}": ", ".join(r.earns) if r.earns else text(f"nothing: {r.reason}", "yellow")
            for r in found.rules
        }
        out.print(key_values(earned, title="monitor rules: the tests they earn"))
    else:
        where = monitors or root / CONFIG_FILE
        need = 'a [[monitor]] with name = "…", model = "NAME@champion", window = "1h" (docs/monitoring.md)'
        out.print(text(f"No [[monitor]] tables in {where}: tests marked 'add to a [[monitor]]' need {need}.", "dim"))
    if found.unscored:
        out.print(key_values({u.name: u.reason for u in found.unscored}, title="checks the rubric does not score"))
    out.print()
    out.print(
        key_values({title: f"{sections[section]:g} / 7" for section, title in SECTIONS.items()}, title="sections")
    )
    out.print(
        text(f"ML Test Score {found.final:g} (the lowest section): {found.interpretation}", "bold"),
    )
