"""``shipyard gate``, ``shipyard promote`` and ``shipyard rollback``: the release gate on the command line.

``gate run`` exits 0 when the verdict passes, 1 when it fails, 2 for a bad policy or input.
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
    data: Annotated[str, typer.Option("--data", "-d", help="The eval dataset version: NAME or NAME@VERSION.")],
    policy: PolicyOption = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the policy's checks on a model version with an eval dataset; store and print the verdict."""
    from shipyard.gates import Gate
    from shipyard.gates.report import render_markdown, render_text_lines

    with open_client(ctx) as client:
        verdict = Gate(client).evaluate(ref, data=data, policy=policy, project=project)
        report = Gate(client).report(f"{verdict.model['name']}@{verdict.model['version']}", project=project)
    document = {**verdict.to_dict(), "report_command": f"shipyard gate report {ref}"}
    html_path = html or Path(f"gate-{verdict.model['name']}-{verdict.model['version']}.html")
    html_path.write_text(report)
    if markdown is not None:
        markdown.write_text(render_markdown(document))
    if as_json:
        print_json({**document, "report_path": str(html_path)})
    else:
        out = console()
        for line in render_text_lines(document):  # worst first, as the report orders them
            status = next((s for s, label in _MARK.items() if f"  {label}  " in f"{line}  "), "")
            out.print(line, style=_STYLE.get(status, ""), markup=False, highlight=False)
        banner = "PASSED" if verdict.passed else "FAILED"
        out.print(
            f"gate {banner} for {verdict.model['name']}@{verdict.model['version']} on "
            f"{verdict.data['name']}@{verdict.data['version']}; report: {html_path}",
            style="bold green" if verdict.passed else "bold red",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(0 if verdict.passed else 1)


@app.command("report")
def report(
    ctx: typer.Context,
    ref: ModelRef,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the HTML here (default: print it).")] = None,
    project: ProjectOption = None,
) -> None:
    """The HTML report of a version's newest verdict."""
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        document = Gate(client).report(ref, project=project)
    if out is None:
        typer.echo(document)
    else:
        out.write_text(document)
        typer.echo(f"wrote {out}")


@app.command("policy")
def show_policy(ctx: typer.Context, policy: PolicyOption = None, as_json: JsonOption = False) -> None:
    """Validate and print the policy with its digest (exit 2 and the reason if it is invalid)."""
    from shipyard.gates import Gate

    with open_client(ctx) as client:
        found = Gate(client).policy(policy)
    document = {**found.to_dict(), "digest": found.digest, "source": found.source}
    if as_json:
        print_json(document)
        return
    typer.echo(f"{found.source}: {len(found.checks)} check(s), digest {found.digest}")
    for check in found.checks:
        extra = ", ".join(f"{k}={v!r}" for k, v in check.values.items() if v is not None)
        typer.echo(f"  {check.name} ({check.severity}): {extra}")


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
        """Give a version an alias; a protected one (champion) needs a passing verdict under the current policy."""
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
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Point champion back at previous-champion (and previous-champion at the version left)."""
        with open_client(ctx) as client:
            left, restored = client.models.rollback(name, project=project)
        if as_json:
            print_json({"name": name, "from": left, "to": restored})
        else:
            typer.echo(f"champion: {name}@{left} → {name}@{restored}; previous-champion is now {name}@{left}")


@app.command("score")
def score(ctx: typer.Context, policy: PolicyOption = None, as_json: JsonOption = False) -> None:
    """The ML Test Score (Breck et al., 2017) of the policy plus Shipyard's own automation; informational, exit 0."""
    from rich.text import Text

    from shipyard.cli._output import key_values, table, text
    from shipyard.cli._state import load_settings
    from shipyard.gates.policy import load_policy
    from shipyard.gates.score import PLATFORM, SECTIONS, ItemScore
    from shipyard.gates.score import score as rubric_score

    found = rubric_score(load_policy(load_settings(ctx).root, policy))  # needs no store: it only reads the policy
    if as_json:
        print_json(found.to_dict())
        return

    def covered_by(entry: ItemScore) -> Text:
        parts = [", ".join(entry.checks)] if entry.checks else []
        parts += ["platform: " + ", ".join(entry.platform)] if entry.platform else []
        if parts:
            label = text("; ".join(parts), "green")
            if entry.item.planned:
                label.append(f"  (planned: {entry.item.planned})", style="dim")
            return label
        if entry.item.planned:
            return text(f"planned: {entry.item.planned}", "yellow")
        if entry.item.kinds:
            return text("add a check: " + ", ".join(str(by) for by in entry.item.kinds), "red")
        return text(entry.item.hint or "-", "dim")

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
    if found.unscored:
        out.print(key_values({u.name: u.reason for u in found.unscored}, title="checks the rubric does not score"))
    out.print()
    out.print(
        key_values({title: f"{sections[section]:g} / 7" for section, title in SECTIONS.items()}, title="sections")
    )
    out.print(
        text(f"ML Test Score {found.final:g} (the lowest section): {found.interpretation}", "bold"),
    )
