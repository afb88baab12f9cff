"""``shipyard audit``: check the store's tamper-evident audit log.

``verify`` exits 0 when the chain is whole and explains the state, 1 when it found a problem (the log was
edited outside Shipyard), 2 for a usage error.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._output import print_json
from shipyard.cli._state import open_client
from shipyard.cli.datasets import JsonOption

app = typer.Typer(help="Check the tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    ctx: typer.Context,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head", help="A head hash recorded earlier (`shipyard audit head`): it must be in the log."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the audit log's hash chain and replay it against aliases, verdicts and policies."""
    with open_client(ctx) as client:
        found = client.models.verify_audit(expect_head=expect_head)
    if as_json:
        print_json(found.to_dict())
    else:
        typer.echo(f"{found.events} audit event(s); head seq {found.head_seq} {found.head_hash}")
        for problem in found.problems:
            typer.secho(f"PROBLEM ({problem.kind}): {problem.message}", fg="red", err=True)
        typer.echo(
            "audit log verified: the chain is whole and explains every alias" if found.ok else "audit log NOT verified"
        )
    raise typer.Exit(0 if found.ok else 1)


@app.command("head")
def head(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the newest event's seq and hash, to keep outside the store and check later with --expect-head."""
    with open_client(ctx) as client:
        seq, digest = client.models.audit_head()
    if as_json:
        print_json({"seq": seq, "hash": digest})
    else:
        typer.echo(f"{seq} {digest}")
