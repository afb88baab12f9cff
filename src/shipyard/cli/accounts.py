"""``shipyard users``, ``shipyard tokens``, ``shipyard members``: the accounts of a team server.

An API token's secret is printed once, when it is made (``users add``, ``tokens create``); the store keeps
only its hash. Roles are per project, lowest first: viewer < editor < maintainer < admin.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from shipyard.cli._output import console, fmt_time, print_json, table, text
from shipyard.cli._state import INT_MAX, open_client
from shipyard.cli.datasets import JsonOption
from shipyard.core.actor import current_actor
from shipyard.core.entities import ApiToken, Membership, Role, User
from shipyard.core.validation import check_name, parse_duration

users_app = typer.Typer(help="Users of a team server: add, list, disable, set a password.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
members_app = typer.Typer(
    help="Roles per project (viewer < editor < maintainer < admin): add, remove, list.", no_args_is_help=True
)

RoleArgument = Annotated[str, typer.Argument(help="viewer, editor, maintainer or admin.", show_default=False)]


def register(root: typer.Typer) -> None:
    root.add_typer(users_app, name="users")
    root.add_typer(tokens_app, name="tokens")
    root.add_typer(members_app, name="members")


# users ------------------------------------------------------------------------------------------------


@users_app.command("add")
def add_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user name: lowercase letters, digits, '.', '_', '@', '-'.")],
    role: Annotated[
        str | None, typer.Option("--role", help="Give the user this role in --project (default project if none).")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="The project of --role.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="A server admin: admin in every project.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password for logging in from stdin.")
    ] = False,
    token_name: Annotated[str, typer.Option("--token-name", help="A name for the user's first token.")] = "initial",
    as_json: JsonOption = False,
) -> None:
    """Add a user, with a role in a project if asked, and print their first API token once."""
    if project is not None and role is None:
        raise typer.BadParameter("--project needs --role, the user's role there.", param_hint="--project")
    parsed = None if role is None else Role.parse(role)
    password = _read_stdin() if password_stdin else None
    with open_client(ctx) as client:
        where = None if parsed is None else check_name(project or client.settings.project, "project")
        accounts, actor = client.backend.accounts, current_actor()
        user = accounts.add_user(name, admin=admin, password=password, actor=actor)
        member = None if parsed is None or where is None else accounts.add_member(where, name, parsed, actor=actor)
        token, secret = accounts.create_token(name, name=token_name, actor=actor)
    if as_json:
        print_json({"user": user.to_dict(), "membership": member and member.to_dict(), "token": _secret(token, secret)})
        return
    typer.echo(f"Added user {user.name!r}{_standing(user, member)}.")
    _print_secret(token, secret)


def _standing(user: User, member: Membership | None) -> str:
    parts = ["a server admin"] if user.admin else []
    if member is not None:
        parts.append(f"{member.role} in project {member.project!r}")
    if user.has_password:
        parts.append("with a password")
    return (": " + ", ".join(parts)) if parts else ""


@users_app.command("list")
def list_users(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List users: server admin or not, disabled or not, whether they can log in with a password."""
    with open_client(ctx) as client:
        found = client.backend.accounts.list_users()
    if as_json:
        print_json({"users": [u.to_dict() for u in found]})
        return
    out = console()
    if not found:
        out.print("No users yet. Add one with `shipyard users add NAME --admin`.", markup=False)
        return
    grid = table("name", "admin", "state", "password", "created")
    for u in found:
        grid.add_row(
            text(u.name),
            text("yes" if u.admin else "-"),
            text("disabled", "red") if u.disabled else text("active", "green"),
            text("yes" if u.has_password else "-"),
            text(fmt_time(u.created_at)),
        )
    out.print(grid)


@users_app.command("disable")
def disable_user(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user to disable.")]) -> None:
    """Disable a user: their tokens and password stop working at once."""
    with open_client(ctx) as client:
        user = client.backend.accounts.disable_user(name, actor=current_actor())
    typer.echo(f"User {user.name!r} is disabled: their tokens and password no longer work.")


@users_app.command("password")
def set_password(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Set a user's password for logging in (asked twice on a terminal, else read from stdin)."""
    if typer.get_text_stream("stdin").isatty():
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = _read_stdin()
    with open_client(ctx) as client:
        client.backend.accounts.set_password(name, password, actor=current_actor())
    typer.echo(f"Set the password of {name!r}.")


def _read_stdin() -> str:
    return typer.get_text_stream("stdin").read().rstrip("\r\n")


# tokens -----------------------------------------------------------------------------------------------


@tokens_app.command("create")
def create_token(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, to tell tokens apart.")] = "",
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Expire after this long: 90d, 12h, 30m (default: never).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token and print its secret once; only its hash is kept."""
    seconds = parse_duration(expires_in, "--expires-in")
    expires_at = None if seconds is None else int(time.time() * 1000 + seconds * 1000)
    with open_client(ctx) as client:
        token, secret = client.backend.accounts.create_token(
            user, name=name, expires_at=expires_at, actor=current_actor()
        )
    if as_json:
        print_json({"token": _secret(token, secret)})
        return
    _print_secret(token, secret)


def _secret(token: ApiToken, secret: str) -> dict[str, object]:
    return {**token.to_dict(), "secret": secret}


def _print_secret(token: ApiToken, secret: str) -> None:
    expiry = "" if token.expires_at is None else f", expires {fmt_time(token.expires_at)}"
    typer.echo(f"API token {token.id} of {token.user!r}{expiry}. It is shown only now; keep it secret:")
    typer.echo(f"  export SHIPYARD_TOKEN={secret}")


@tokens_app.command("list")
def list_tokens(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's tokens.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List API tokens (never their secrets): owner, name, prefix, when made, last used, expiry, state."""
    with open_client(ctx) as client:
        found = client.backend.accounts.list_tokens(user)
    now = int(time.time() * 1000)
    if as_json:
        print_json({"tokens": [{**t.to_dict(), "state": t.state(now)} for t in found]})
        return
    out = console()
    if not found:
        out.print("No API tokens. Create one with `shipyard tokens create USER`.", markup=False)
        return
    grid = table("id", "user", "name", "prefix", "created", "last used", "expires", "state")
    for t in found:
        state = t.state(now)
        grid.add_row(
            text(t.id),
            text(t.user),
            text(t.name or "-"),
            text(f"sy_{t.prefix}…"),
            text(fmt_time(t.created_at)),
            text(fmt_time(t.last_used_at)),
            text(fmt_time(t.expires_at) if t.expires_at is not None else "never"),
            text(state, "green" if state == "active" else "red"),
        )
    out.print(grid)


@tokens_app.command("revoke")
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id (`shipyard tokens list`).", min=1, max=INT_MAX)],
) -> None:
    """Revoke an API token: it stops working at once."""
    with open_client(ctx) as client:
        token = client.backend.accounts.revoke_token(token_id, actor=current_actor())
    named = f" ({token.name!r})" if token.name else ""
    typer.echo(f"Revoked API token {token.id}{named} of {token.user!r}.")


# members ----------------------------------------------------------------------------------------------


@members_app.command("add")
def add_member(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="The project.")],
    user: Annotated[str, typer.Argument(help="The user.")],
    role: RoleArgument,
) -> None:
    """Give a user a role in a project, or change the role they have there."""
    parsed = Role.parse(role)
    with open_client(ctx) as client:
        member = client.backend.accounts.add_member(project, user, parsed, actor=current_actor())
    typer.echo(f"{member.user!r} is {member.role} in project {member.project!r}.")


@members_app.command("remove")
def remove_member(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="The project.")],
    user: Annotated[str, typer.Argument(help="The user.")],
) -> None:
    """Take a user's role in a project away (a server admin stays admin everywhere)."""
    with open_client(ctx) as client:
        client.backend.accounts.remove_member(project, user, actor=current_actor())
    typer.echo(f"{user!r} has no role in project {project!r} any more.")


@members_app.command("list")
def list_members(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Argument(help="Only this project (default: every project).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List who has which role in which project."""
    with open_client(ctx) as client:
        found = client.backend.accounts.members(project)
    if as_json:
        print_json({"members": [m.to_dict() for m in found]})
        return
    out = console()
    if not found:
        scope = f" of project {project!r}" if project else ""
        out.print(f"No members{scope}. Add one with `shipyard members add PROJECT USER ROLE`.", markup=False)
        return
    grid = table("project", "user", "role")
    for m in found:
        grid.add_row(text(m.project), text(m.user), text(m.role.value))
    out.print(grid)
