"""Accounts through the seam: users, tokens, memberships, logins; over HTTP within the caller's rights.

The HTTP backend here holds a server admin's token, so it may manage every account; what a weaker token
may not do is pinned by tests/server/test_security.py. Checking a secret (``authenticate``, ``login``) is
the server's own step and no client operation: over HTTP both are refused.
"""

from __future__ import annotations

import pytest

from shipyard.backends import Backend
from shipyard.core.entities_accounts import Role
from shipyard.core.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from tests.backends.conformance.conftest import PROJECT, server_of

PASSWORD = "a long enough password"


def test_users_are_added_listed_and_disabled(backend: Backend) -> None:
    before = backend.accounts.count_users()
    alice = backend.accounts.add_user("alice", actor="tester")
    assert (alice.name, alice.admin, alice.disabled, alice.has_password) == ("alice", False, False, False)
    with pytest.raises(AlreadyExists):
        backend.accounts.add_user("alice", actor="tester")
    with pytest.raises(InvalidInput):
        backend.accounts.add_user("Not A Name", actor="tester")
    assert backend.accounts.count_users() == before + 1
    assert "alice" in [u.name for u in backend.accounts.list_users()]
    assert backend.accounts.get_user("alice") == alice
    assert backend.accounts.disable_user("alice", actor="tester").disabled
    with pytest.raises(NotFound):
        backend.accounts.get_user("nobody")


def test_a_token_is_shown_once_listed_without_its_secret_and_revoked(backend: Backend) -> None:
    backend.accounts.add_user("bob", actor="tester")
    token, secret = backend.accounts.create_token("bob", name="ci", actor="tester")
    assert secret.startswith("sy_") and token.user == "bob" and token.name == "ci"
    listed = backend.accounts.list_tokens("bob")
    assert [t.id for t in listed] == [token.id] and secret not in repr(listed)
    assert backend.accounts.revoke_token(token.id, actor="tester").revoked_at is not None
    with pytest.raises(NotFound):
        backend.accounts.revoke_token(10**9, actor="tester")


def test_members_are_added_changed_and_removed(backend: Backend) -> None:
    backend.accounts.add_user("carol", actor="tester")
    assert backend.accounts.add_member(PROJECT, "carol", "editor", actor="tester").role is Role.EDITOR
    assert backend.accounts.add_member(PROJECT, "carol", "maintainer", actor="tester").role is Role.MAINTAINER
    assert [(m.user, m.role) for m in backend.accounts.members(PROJECT) if m.user == "carol"] == [
        ("carol", Role.MAINTAINER)
    ]
    with pytest.raises(InvalidInput, match="role"):
        backend.accounts.add_member(PROJECT, "carol", "owner", actor="tester")
    backend.accounts.remove_member(PROJECT, "carol", actor="tester")
    assert "carol" not in [m.user for m in backend.accounts.members(PROJECT)]


def test_secrets_are_checked_only_beside_the_store(backend: Backend) -> None:
    backend.accounts.add_user("dave", password=PASSWORD, actor="tester")
    _token, secret = backend.accounts.create_token("dave", actor="tester")
    backend.accounts.set_password("dave", PASSWORD + "!", actor="tester")
    if server_of(backend) is not None:
        with pytest.raises(PermissionDenied, match="server"):
            backend.accounts.authenticate(secret)
        with pytest.raises(PermissionDenied, match="server"):
            backend.accounts.login("dave", PASSWORD + "!")
        return
    assert backend.accounts.authenticate(secret).name == "dave"
    assert backend.accounts.login("dave", PASSWORD + "!").name == "dave"
    with pytest.raises(Unauthenticated):
        backend.accounts.login("dave", PASSWORD)


def test_the_gate_runs_on_the_server_only_for_an_http_backend(backend: Backend) -> None:
    assert (backend.gate_server is None) == (server_of(backend) is None)
    if backend.gate_server is not None:
        with pytest.raises(NotFound):
            backend.gate_server.evaluate(PROJECT, ["ghost@1"])
