"""``shipyard users``, ``tokens`` and ``members``: a token printed once that works, roles, clear refusals."""

from __future__ import annotations

import re

import pytest

import shipyard
from shipyard.core.actor import current_actor
from shipyard.core.entities import Membership, Role
from shipyard.core.errors import Unauthenticated
from tests.cli.helpers import Invoke, strict_json

SECRET = re.compile(r"sy_[\w-]{43}")


def test_users_add_prints_a_working_token_once(invoke: Invoke, store: shipyard.Client) -> None:
    result = invoke("users", "add", "alice", "--role", "maintainer", "--project", "churn")
    assert result.exit_code == 0, result.output
    assert "Added user 'alice': maintainer in project 'churn'." in result.output
    (secret,) = SECRET.findall(result.output)
    assert f"export SHIPYARD_TOKEN={secret}" in result.output
    principal = store.backend.accounts.authenticate(secret)
    assert (principal.name, principal.roles) == ("alice", {"churn": Role.MAINTAINER})
    listed = invoke("tokens", "list")
    assert secret[3:11] in listed.output and secret not in listed.output


def test_users_add_json_has_the_user_the_membership_and_the_token(invoke: Invoke, store: shipyard.Client) -> None:
    result = invoke("users", "add", "root", "--admin", "--json")
    assert result.exit_code == 0, result.output
    data = strict_json(result.output)
    assert (data["user"]["name"], data["user"]["admin"], data["membership"]) == ("root", True, None)
    assert store.backend.accounts.authenticate(data["token"]["secret"]).token_id == data["token"]["id"]


def test_a_password_is_read_from_stdin(invoke: Invoke, store: shipyard.Client) -> None:
    result = invoke("users", "add", "alice", "--password-stdin", input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert store.backend.accounts.login("alice", "a long enough password").name == "alice"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "Alice"], None, "A user name is 1 to 64 characters"),
        (["users", "add", ""], None, "A user name is 1 to 64 characters"),
        (["users", "add", "alice", "--password-stdin"], "short\n", "12 to 1024 characters"),
        (["users", "add", "alice", "--role", "owner"], None, "Unknown role 'owner'"),
        (["users", "add", "alice", "--project", "churn"], None, "--project needs --role"),
        (["tokens", "create", "nobody"], None, "No user named 'nobody'"),
        (["tokens", "create", "bo", "--expires-in", "soon"], None, "--expires-in must be a positive duration"),
        (["tokens", "revoke", "42"], None, "No API token with id 42"),
        (["tokens", "revoke", "x"], None, "Invalid value for 'token_id'"),
        (["members", "add", "churn", "bo", "owner"], None, "Unknown role 'owner'"),
        (["members", "add", "churn", "nobody", "viewer"], None, "No user named 'nobody'"),
        (["members", "remove", "churn", "bo"], None, "No project named 'churn'"),
    ],
)
def test_bad_input_is_exit_2_with_a_clear_message_and_changes_nothing(
    invoke: Invoke, store: shipyard.Client, args: list[str], stdin: str | None, message: str
) -> None:
    store.backend.accounts.add_user("bo", actor="t")
    before = (
        store.backend.accounts.list_users(),
        store.backend.accounts.list_tokens(),
        store.backend.store.list_projects(),
    )
    result = invoke(*args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.startswith("error: ")
    after = (
        store.backend.accounts.list_users(),
        store.backend.accounts.list_tokens(),
        store.backend.store.list_projects(),
    )
    assert after == before


def test_tokens_create_list_and_revoke(invoke: Invoke, store: shipyard.Client) -> None:
    store.backend.accounts.add_user("ci", actor="t")
    created = invoke("tokens", "create", "ci", "--name", "nightly", "--expires-in", "30d", "--json")
    assert created.exit_code == 0, created.output
    token = strict_json(created.output)["token"]
    assert token["name"] == "nightly" and token["expires_at"] is not None
    listed = strict_json(invoke("tokens", "list", "--user", "ci", "--json").output)["tokens"]
    assert [(t["id"], t["state"], "secret" in t) for t in listed] == [(token["id"], "active", False)]
    revoked = invoke("tokens", "revoke", str(token["id"]))
    assert revoked.exit_code == 0 and f"Revoked API token {token['id']} ('nightly') of 'ci'." in revoked.output
    with pytest.raises(Unauthenticated, match="revoked"):
        store.backend.accounts.authenticate(token["secret"])
    assert strict_json(invoke("tokens", "list", "--json").output)["tokens"][0]["state"] == "revoked"


def test_members_add_change_list_and_remove(invoke: Invoke, store: shipyard.Client) -> None:
    for name in ("alice", "bo"):
        store.backend.accounts.add_user(name, actor="t")
    assert invoke("members", "add", "churn", "alice", "viewer").exit_code == 0
    changed = invoke("members", "add", "churn", "alice", "Editor")
    assert changed.exit_code == 0 and "'alice' is editor in project 'churn'." in changed.output
    invoke("members", "add", "ads", "bo", "admin")
    assert strict_json(invoke("members", "list", "--json").output)["members"] == [
        {"project": "ads", "user": "bo", "role": "admin"},
        {"project": "churn", "user": "alice", "role": "editor"},
    ]
    table = invoke("members", "list", "churn").output
    assert "alice" in table and "bo" not in table
    assert invoke("members", "remove", "churn", "alice").exit_code == 0
    assert store.backend.accounts.members() == [Membership("ads", "bo", Role.ADMIN)]


def test_users_list_and_disable(invoke: Invoke, store: shipyard.Client) -> None:
    assert "No users yet" in invoke("users", "list").output
    store.backend.accounts.add_user("alice", actor="t")
    _, secret = store.backend.accounts.create_token("alice", actor="t")
    disabled = invoke("users", "disable", "alice")
    assert disabled.exit_code == 0 and "'alice' is disabled" in disabled.output
    assert strict_json(invoke("users", "list", "--json").output)["users"][0]["disabled"] is True
    with pytest.raises(Unauthenticated, match="disabled"):
        store.backend.accounts.authenticate(secret)


def test_every_change_is_audited_as_the_user_at_the_keyboard(invoke: Invoke, store: shipyard.Client) -> None:
    invoke("users", "add", "alice", "--role", "viewer", "--project", "churn")
    invoke("tokens", "revoke", "1")
    events = store.backend.registry.audit_events(None, limit=10)
    assert sorted(e.action for e in events) == ["member.set", "token.create", "token.revoke", "user.add"]
    assert {e.actor for e in events} == {current_actor()}
