"""Accounts in the metadata store, on both databases: users, hashed tokens, roles, logins, audit events."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.core.entities import Membership, Principal, Role
from shipyard.core.errors import InvalidInput, TooManyAttempts, Unauthenticated
from shipyard.store import audit
from shipyard.store.accounts import FAILED_LOGIN_WINDOW_MS, AccountStore
from shipyard.store.schema import api_tokens, audit_events, users

pytestmark = pytest.mark.local_only("an AccountStore of its own on the client's database engine")
T0 = 1_700_000_000_000
PASSWORD = "correct horse battery"


class Clock:
    """The store's time, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(client: sy.Client, clock: Clock) -> AccountStore:
    return AccountStore(client.backend.store.engine, clock=clock)


def rows(store: AccountStore, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(table)))


def events(store: AccountStore) -> list[tuple[str, str, str | None, str]]:
    with store.engine.connect() as conn:
        found = audit.read(conn, None, None, 1000)
    return [(e.action, e.actor, e.project, e.subject) for e in reversed(found)]


def unchanged(store: AccountStore) -> Callable[[], None]:
    """A check that nothing was written since it was made: no user, token, membership or audit event."""
    before = [len(rows(store, t)) for t in (users, api_tokens, audit_events)], store.members()

    def check() -> None:
        assert ([len(rows(store, t)) for t in (users, api_tokens, audit_events)], store.members()) == before

    return check


# tokens -----------------------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_stored(accounts: AccountStore) -> None:
    accounts.add_user("alice", actor="root")
    token, secret = accounts.create_token("alice", name="laptop", actor="root")
    assert secret.startswith("sy_") and len(secret) > 40 and token.prefix == secret[3:11]
    (row,) = rows(accounts, api_tokens)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in row)
    assert all(secret not in str(e) for e in events(accounts))
    assert accounts.list_tokens() == [token] and "sy_" not in repr(token)
    assert accounts.authenticate(secret) == Principal("alice", False, {}, token.id)


def test_a_revoked_token_stops_at_once_and_revoking_again_changes_nothing(accounts: AccountStore) -> None:
    accounts.add_user("alice", actor="root")
    token, secret = accounts.create_token("alice", actor="root")
    revoked = accounts.revoke_token(token.id, actor="bob")
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated, match=f"API token {token.id} of 'alice' was revoked") as caught:
        accounts.authenticate(secret)
    assert secret not in str(caught.value) and token.prefix not in str(caught.value)
    assert accounts.revoke_token(token.id, actor="bob") == revoked
    assert [e[0] for e in events(accounts)].count("token.revoke") == 1


def test_a_token_expires(accounts: AccountStore, clock: Clock) -> None:
    accounts.add_user("ci", actor="root")
    token, secret = accounts.create_token("ci", name="nightly", expires_at=T0 + 3_600_000, actor="root")
    assert accounts.authenticate(secret).token_id == token.id
    clock.now = T0 + 3_600_000
    with pytest.raises(Unauthenticated, match=r"API token \d+ \('nightly'\) of 'ci' has expired"):
        accounts.authenticate(secret)
    with pytest.raises(InvalidInput, match="must be in the future"):
        accounts.create_token("ci", expires_at=T0, actor="root")


@pytest.mark.parametrize("secret", ["", "sy_", "not-a-token", "sy_" + "x" * 43, "sy_" + "x" * 500])
def test_an_unknown_token_is_refused_without_repeating_it(accounts: AccountStore, secret: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        accounts.authenticate(secret)
    assert secret[3:] == "" or secret[3:] not in str(caught.value)


def test_last_used_is_written_at_most_once_a_minute(accounts: AccountStore, clock: Clock) -> None:
    accounts.add_user("alice", actor="root")
    token, secret = accounts.create_token("alice", actor="root")
    assert token.last_used_at is None
    accounts.authenticate(secret)
    clock.now = T0 + 59_999
    accounts.authenticate(secret)
    assert accounts.list_tokens()[0].last_used_at == T0
    clock.now = T0 + 60_000
    accounts.authenticate(secret)
    assert accounts.list_tokens()[0].last_used_at == T0 + 60_000


# users ------------------------------------------------------------------------------------------------


def test_a_disabled_user_can_neither_use_a_token_nor_log_in(accounts: AccountStore) -> None:
    accounts.add_user("alice", password=PASSWORD, actor="root")
    _, secret = accounts.create_token("alice", actor="root")
    assert accounts.disable_user("alice", actor="root").disabled
    with pytest.raises(Unauthenticated, match="'alice' is disabled"):
        accounts.authenticate(secret)
    with pytest.raises(Unauthenticated, match="'alice' is disabled"):
        accounts.login("alice", PASSWORD)
    with pytest.raises(sy.Conflict, match="disabled"):
        accounts.create_token("alice", actor="root")
    assert accounts.disable_user("alice", actor="root").disabled  # again: nothing more
    assert [e[0] for e in events(accounts)].count("user.disable") == 1


def test_users_are_listed_counted_and_unique(accounts: AccountStore) -> None:
    bo = accounts.add_user("bo", admin=True, actor="root")
    accounts.add_user("alice", password=PASSWORD, actor="root")
    assert [(u.name, u.admin, u.has_password) for u in accounts.list_users()] == [
        ("alice", False, True),
        ("bo", True, False),
    ]
    assert accounts.count_users() == 2 and accounts.get_user("bo") == bo
    check = unchanged(accounts)
    with pytest.raises(sy.AlreadyExists, match="'bo' already exists"):
        accounts.add_user("bo", actor="root")
    with pytest.raises(sy.NotFound, match=r"No user named 'alcie'\. Did you mean 'alice'\?"):
        accounts.get_user("alcie")
    check()


@pytest.mark.parametrize("name", ["", "Alice", "-bo", "a b", "x" * 65, "ana\n"])
def test_a_bad_user_name_is_refused_and_nothing_is_written(accounts: AccountStore, name: str) -> None:
    check = unchanged(accounts)
    with pytest.raises(InvalidInput, match="A user name is 1 to 64 characters"):
        accounts.add_user(name, actor="root")
    check()


def test_a_short_password_is_refused_and_nothing_is_written(accounts: AccountStore) -> None:
    check = unchanged(accounts)
    with pytest.raises(InvalidInput, match="12 to 1024 characters long; the one given has 6"):
        accounts.add_user("alice", password="hunter", actor="root")
    check()
    accounts.add_user("alice", actor="root")
    check = unchanged(accounts)
    with pytest.raises(InvalidInput, match="12 to 1024"):
        accounts.set_password("alice", "short", actor="root")
    check()


def test_a_password_is_stored_as_an_argon2id_hash_and_logs_in(accounts: AccountStore) -> None:
    accounts.add_user("alice", actor="root")
    accounts.add_member("churn", "alice", "editor", actor="root")
    accounts.set_password("alice", PASSWORD, actor="ops")
    (row,) = rows(accounts, users)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert accounts.login("alice", PASSWORD) == Principal("alice", False, {"churn": Role.EDITOR}, None)
    assert ("user.password", "ops", None, "user:alice") in events(accounts)
    with accounts.engine.connect() as conn:
        details = conn.execute(sa.select(audit_events.c.details).where(audit_events.c.action == "user.password"))
        assert "argon2" not in details.scalar_one()


# logins -----------------------------------------------------------------------------------------------


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(accounts: AccountStore) -> None:
    accounts.add_user("alice", password=PASSWORD, actor="root")
    answers = []
    for name, password in [("alice", "wrong password!"), ("nobody", PASSWORD), ("nopassword", PASSWORD)]:
        with pytest.raises(Unauthenticated) as caught:
            accounts.login(name, password)
        answers.append(str(caught.value))
    assert len(set(answers)) == 1 and "Wrong user name or password" in answers[0]


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_five_failed_logins_lock_the_name_until_the_window_passes(
    accounts: AccountStore, clock: Clock, name: str
) -> None:
    accounts.add_user("alice", password=PASSWORD, actor="root")
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            accounts.login(name, "wrong password!")
        clock.now += 1000
    with pytest.raises(TooManyAttempts, match=rf"Too many failed logins for '{name}'") as caught:
        accounts.login(name, PASSWORD)  # even the right password waits
    assert caught.value.retry_after == (FAILED_LOGIN_WINDOW_MS - 5000) // 1000
    with pytest.raises(Unauthenticated):  # another name is not locked
        accounts.login("bo", "wrong password!")
    clock.now = T0 + FAILED_LOGIN_WINDOW_MS + 1
    if name == "alice":
        assert accounts.login(name, PASSWORD).name == "alice"
    else:
        with pytest.raises(Unauthenticated):
            accounts.login(name, PASSWORD)


def test_a_successful_login_clears_the_failures(accounts: AccountStore, clock: Clock) -> None:
    accounts.add_user("alice", password=PASSWORD, actor="root")
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            accounts.login("alice", "wrong password!")
    accounts.login("alice", PASSWORD)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            accounts.login("alice", "wrong password!")
    assert accounts.login("alice", PASSWORD).name == "alice"


def test_the_lock_is_shared_by_every_store_on_the_database(accounts: AccountStore, clock: Clock) -> None:
    other = AccountStore(accounts.engine, clock=clock)  # another server replica
    accounts.add_user("alice", password=PASSWORD, actor="root")
    for store in [accounts, other] * 2 + [accounts]:
        with pytest.raises(Unauthenticated):
            store.login("alice", "wrong password!")
    with pytest.raises(TooManyAttempts):
        other.login("alice", PASSWORD)


# roles ------------------------------------------------------------------------------------------------


def test_roles_are_ordered_and_parsed() -> None:
    assert [r.rank for r in (Role.VIEWER, Role.EDITOR, Role.MAINTAINER, Role.ADMIN)] == [0, 1, 2, 3]
    assert Role.VIEWER < Role.EDITOR < Role.MAINTAINER < Role.ADMIN  # by rank, not as strings
    assert Role.VIEWER < "admin" and not Role.VIEWER >= "maintainer" and max(Role) is Role.ADMIN
    assert Role.parse(" Maintainer ") is Role.MAINTAINER and Role.parse(Role.ADMIN) is Role.ADMIN
    with pytest.raises(
        InvalidInput, match=r"Unknown role 'mantainer'.*viewer, editor, maintainer, admin.*'maintainer'"
    ):
        Role.parse("mantainer")


def test_a_principal_has_its_roles_and_a_server_admin_is_admin_everywhere() -> None:
    ana = Principal("ana", False, {"churn": Role.EDITOR, "ads": Role.VIEWER}, 3)
    assert (ana.role_in("churn"), ana.role_in("fraud"), ana.projects) == (Role.EDITOR, None, ("ads", "churn"))
    assert ana.allows("churn", Role.VIEWER) and not ana.allows("churn", Role.MAINTAINER)
    assert not ana.allows("fraud", Role.VIEWER)
    root = Principal("root", True, {}, None)
    assert root.role_in("anything") is Role.ADMIN and root.allows("anything", Role.ADMIN)


def test_a_membership_is_upserted_and_removed(accounts: AccountStore) -> None:
    accounts.add_user("alice", actor="root")
    accounts.add_user("bo", actor="root")
    accounts.add_member("churn", "alice", Role.VIEWER, actor="root")
    assert accounts.add_member("churn", "alice", "maintainer", actor="ops") == Membership(
        "churn", "alice", Role.MAINTAINER
    )
    accounts.add_member("ads", "bo", "admin", actor="root")
    assert accounts.members() == [Membership("ads", "bo", Role.ADMIN), Membership("churn", "alice", Role.MAINTAINER)]
    assert accounts.members("churn") == [Membership("churn", "alice", Role.MAINTAINER)]
    _, secret = accounts.create_token("alice", actor="root")
    assert accounts.authenticate(secret).roles == {"churn": Role.MAINTAINER}
    accounts.remove_member("churn", "alice", actor="ops")
    assert accounts.members("churn") == [] and accounts.authenticate(secret).roles == {}
    check = unchanged(accounts)
    with pytest.raises(sy.NotFound, match="'alice' is not a member of project 'churn'"):
        accounts.remove_member("churn", "alice", actor="ops")
    check()


@pytest.mark.parametrize(
    ("project", "user", "role", "error"),
    [
        ("churn", "alice", "owner", InvalidInput),
        ("", "alice", "viewer", InvalidInput),
        ("churn", "nobody", "viewer", sy.NotFound),
    ],
)
def test_a_bad_membership_changes_nothing(
    accounts: AccountStore, project: str, user: str, role: str, error: type[Exception]
) -> None:
    accounts.add_user("alice", actor="root")
    check = unchanged(accounts)
    with pytest.raises(error):
        accounts.add_member(project, user, role, actor="root")
    check()
    assert accounts.list_projects() == []


def test_an_unknown_token_id_is_not_found_and_changes_nothing(accounts: AccountStore) -> None:
    check = unchanged(accounts)
    with pytest.raises(sy.NotFound, match="No API token with id 42; `shipyard tokens list`"):
        accounts.revoke_token(42, actor="root")
    check()


# audit ------------------------------------------------------------------------------------------------


def test_every_change_is_an_audit_event_with_its_actor_and_the_chain_holds(accounts: AccountStore) -> None:
    accounts.add_user("alice", actor="root")
    accounts.set_password("alice", PASSWORD, actor="alice")
    token, _ = accounts.create_token("alice", actor="ops")
    accounts.revoke_token(token.id, actor="sec")
    accounts.add_member("churn", "alice", "editor", actor="lead")
    accounts.add_member("churn", "alice", "editor", actor="lead")  # no change, no event
    accounts.remove_member("churn", "alice", actor="lead")
    accounts.disable_user("alice", actor="sec")
    assert events(accounts) == [
        ("user.add", "root", None, "user:alice"),
        ("user.password", "alice", None, "user:alice"),
        ("token.create", "ops", None, "user:alice"),
        ("token.revoke", "sec", None, "user:alice"),
        ("member.set", "lead", "churn", "user:alice"),
        ("member.remove", "lead", "churn", "user:alice"),
        ("user.disable", "sec", None, "user:alice"),
    ]
    with accounts.engine.connect() as conn:
        assert audit.verify(conn).ok
