"""Accounts of a team server: users, API tokens, per-project roles, password logins.

Every change (a user added or disabled, a password set, a token created or revoked, a membership added,
changed or removed) is one transaction with its audit event; password hashes and token secrets never
reach the log. ``authenticate`` is the hot path of every server request: one indexed read of the token
and its user, one of the user's roles, and a write of ``last_used_at`` at most once a minute per token.

Failed logins are counted per user name in the database, so every server replica counts the same ones.
An attempt is written as a failure *before* its password is checked and deleted, with the others of its
name, once it succeeds: concurrent guesses on several replicas are counted at once.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities_accounts import ApiToken, Membership, Principal, Role, User, check_user_name
from shipyard.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from shipyard.core.validation import check_name
from shipyard.store import _passwords, audit
from shipyard.store._base import StoreBase, now_ms
from shipyard.store.schema import api_tokens, login_failures, project_members, projects, users

LAST_USED_EVERY_MS = 60_000
"""A token's ``last_used_at`` is written at most this often, so that most requests only read."""
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW_MS = 15 * 60_000

_TOKENS = sa.select(api_tokens, users.c.name.label("user_name")).join(users, users.c.id == api_tokens.c.user_id)
_MEMBERS = (
    sa.select(projects.c.name.label("project"), users.c.name.label("user_name"), project_members.c.role)
    .select_from(project_members)
    .join(projects, projects.c.id == project_members.c.project_id)
    .join(users, users.c.id == project_members.c.user_id)
)
_SECRET_HASH: sa.BindParameter[str] = sa.bindparam("secret_hash", type_=sa.String)
_TOKEN_BY_HASH = (
    sa.select(
        api_tokens.c.id,
        api_tokens.c.name,
        api_tokens.c.expires_at,
        api_tokens.c.last_used_at,
        api_tokens.c.revoked_at,
        users.c.id.label("user_id"),
        users.c.name.label("user_name"),
        users.c.admin,
        users.c.disabled_at,
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(api_tokens.c.secret_hash == _SECRET_HASH)
)
_USER_ID: sa.BindParameter[int] = sa.bindparam("user_id", type_=sa.Integer)
_ROLES_OF = (
    sa.select(projects.c.name, project_members.c.role)
    .join(projects, projects.c.id == project_members.c.project_id)
    .where(project_members.c.user_id == _USER_ID)
)
_WRONG_LOGIN = "Wrong user name or password. Check both and try again; an admin can set a new password."


class AccountStore(StoreBase):
    """Users, API tokens, memberships and logins; ``clock`` (ms since the epoch) is for tests to move time."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], int] = now_ms) -> None:
        super().__init__(engine)
        self._now = clock

    # users --------------------------------------------------------------------------------------------

    def add_user(self, name: str, *, admin: bool = False, password: str | None = None, actor: str) -> User:
        """A new user (a server admin if ``admin``); ``AlreadyExists`` if the name is taken."""
        name = check_user_name(name)
        hashed = None if password is None else _passwords.hash_password(_passwords.check_password(password))
        try:
            with self._write() as conn:
                if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first() is not None:
                    raise _taken(name)
                conn.execute(
                    users.insert().values(
                        name=name, admin=bool(admin), password_hash=hashed, created_at=self._now(), created_by=actor
                    )
                )
                details = {"admin": bool(admin), "password": hashed is not None}
                audit.record(conn, actor, "user.add", None, f"user:{name}", details)
                return self._user(conn, name)
        except sa.exc.IntegrityError:  # added by someone else between our check and our insert
            raise _taken(name) from None

    def get_user(self, name: str) -> User:
        with self._read() as conn:
            return self._user(conn, name)

    def list_users(self) -> list[User]:
        with self._read() as conn:
            return [_user(row) for row in conn.execute(sa.select(users).order_by(users.c.name))]

    def count_users(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    def disable_user(self, name: str, *, actor: str) -> User:
        """Stop the user's tokens and logins at once; disabling a disabled user changes nothing."""
        with self._write() as conn:
            user = self._user(conn, name)
            if user.disabled:
                return user
            conn.execute(users.update().where(users.c.id == user.id).values(disabled_at=self._now()))
            audit.record(conn, actor, "user.disable", None, f"user:{user.name}", {})
            return self._user(conn, name)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Set (or replace) the user's password, kept as an argon2id hash; the log says only that it changed."""
        hashed = _passwords.hash_password(_passwords.check_password(password))
        with self._write() as conn:
            user = self._user(conn, name)
            conn.execute(users.update().where(users.c.id == user.id).values(password_hash=hashed))
            audit.record(conn, actor, "user.password", None, f"user:{user.name}", {"had_password": user.has_password})

    def _user(self, conn: sa.Connection, name: str) -> User:
        row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            known = list(conn.execute(sa.select(users.c.name).order_by(users.c.name)).scalars())
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
            raise NotFound(
                f"No user named {name!r}. {hint}Users: {shown or 'none yet'}; add one with `shipyard users add NAME`."
            )
        return _user(row)

    # tokens -------------------------------------------------------------------------------------------

    def create_token(
        self, user: str, *, name: str = "", expires_at: int | None = None, actor: str
    ) -> tuple[ApiToken, str]:
        """A new API token of ``user`` and its secret, which is returned here only: just its hash is kept."""
        if not isinstance(name, str) or len(name) > 250 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise InvalidInput(
                f"A token's name is text of at most 250 characters without control characters; got {name!r}."
            )
        now = self._now()
        if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, int)):
            raise InvalidInput(f"A token's expiry is a time in ms since the epoch; got {expires_at!r}.")
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("A token's expiry must be in the future; give a later time (or none: it never expires).")
        secret = _passwords.new_secret()
        with self._write() as conn:
            owner = self._user(conn, user)
            if owner.disabled:
                raise Conflict(f"User {owner.name!r} is disabled, so a token of theirs would never work.")
            token_id = conn.execute(
                api_tokens.insert()
                .values(
                    user_id=owner.id,
                    name=name,
                    prefix=_passwords.secret_prefix(secret),
                    secret_hash=_passwords.secret_hash(secret),
                    created_at=now,
                    created_by=actor,
                    expires_at=expires_at,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
            details = {"token_id": token_id, "name": name, "expires_at": expires_at}
            audit.record(conn, actor, "token.create", None, f"user:{owner.name}", details)
            return self._token(conn, token_id), secret

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        """Every token (revoked and expired ones too), oldest first; only ``user``'s when given."""
        with self._read() as conn:
            query = _TOKENS
            if user is not None:
                query = query.where(api_tokens.c.user_id == self._user(conn, user).id)
            return [_token(row) for row in conn.execute(query.order_by(api_tokens.c.id))]

    def revoke_token(self, token_id: int, *, actor: str) -> ApiToken:
        """Stop the token at once; revoking a revoked token changes nothing. ``NotFound`` for an unknown id."""
        with self._write() as conn:
            token = self._token(conn, token_id)
            if token.revoked_at is not None:
                return token
            conn.execute(api_tokens.update().where(api_tokens.c.id == token.id).values(revoked_at=self._now()))
            audit.record(conn, actor, "token.revoke", None, f"user:{token.user}", {"token_id": token.id})
            return self._token(conn, token.id)

    def _token(self, conn: sa.Connection, token_id: int) -> ApiToken:
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            raise InvalidInput(f"A token id is a whole number (see `shipyard tokens list`); got {token_id!r}.")
        row = conn.execute(_TOKENS.where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"No API token with id {token_id}; `shipyard tokens list` shows the tokens and their ids.")
        return _token(row)

    # who is calling -----------------------------------------------------------------------------------

    def authenticate(self, secret: str) -> Principal:
        """The caller an API token's secret belongs to; ``Unauthenticated`` for an unknown, revoked or
        expired token or a disabled user (the message never repeats the secret)."""
        if not _passwords.plausible_secret(secret):
            raise Unauthenticated(
                "That is not a Shipyard API token (they start with 'sy_'). Set SHIPYARD_TOKEN to the token "
                "`shipyard users add` or `shipyard tokens create` printed."
            )
        now = self._now()
        with self._read() as conn:
            row = conn.execute(_TOKEN_BY_HASH, {"secret_hash": _passwords.secret_hash(secret)}).first()
            if row is None:
                raise Unauthenticated(
                    "This API token is not known here: check SHIPYARD_TOKEN and the server's URL, or ask an admin "
                    "for a token (`shipyard tokens create USER`)."
                )
            _usable(row, now)
            roles = {project: Role(role) for project, role in conn.execute(_ROLES_OF, {"user_id": row.user_id})}
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY_MS:
            self._touch(row.id, now)
        return Principal(row.user_name, bool(row.admin), roles, row.id)

    def _touch(self, token_id: int, now: int) -> None:
        # Conditional, so that replicas serving the same token at once write it once.
        stale = sa.or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at <= now - LAST_USED_EVERY_MS)
        with self._write() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == token_id, stale).values(last_used_at=now))

    def login(self, name: str, password: str) -> Principal:
        """The user a name and password belong to. After ``MAX_FAILED_LOGINS`` failures of one name within
        ``FAILED_LOGIN_WINDOW_MS`` every attempt is ``TooManyAttempts`` until the window has passed."""
        if not isinstance(password, str) or not isinstance(name, str) or len(name) > 64:
            _passwords.verify_password(None, "")  # the same time as any other wrong answer
            raise Unauthenticated(_WRONG_LOGIN)
        now = self._now()
        with self._write() as conn:
            self._refuse_if_locked(conn, name, now)
            conn.execute(login_failures.insert().values(name=name, at=now))
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        stored = None if row is None else row.password_hash
        if not _passwords.verify_password(stored, password) or row is None:
            raise Unauthenticated(_WRONG_LOGIN)
        with self._write() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.name == name))
            if _passwords.needs_rehash(stored or ""):
                hashed = _passwords.hash_password(password)
                conn.execute(users.update().where(users.c.id == row.id).values(password_hash=hashed))
            roles = {project: Role(role) for project, role in conn.execute(_ROLES_OF, {"user_id": row.id})}
        if row.disabled_at is not None:  # said only to whoever knows the password
            raise Unauthenticated(f"User {name!r} is disabled; ask a server admin.")
        return Principal(row.name, bool(row.admin), roles, None)

    def _refuse_if_locked(self, conn: sa.Connection, name: str, now: int) -> None:
        cutoff = now - FAILED_LOGIN_WINDOW_MS
        conn.execute(login_failures.delete().where(login_failures.c.at <= cutoff))
        recent = list(
            conn.execute(
                sa.select(login_failures.c.at)
                .where(login_failures.c.name == name, login_failures.c.at > cutoff)
                .order_by(login_failures.c.at.desc())
                .limit(MAX_FAILED_LOGINS)
            ).scalars()
        )
        if len(recent) >= MAX_FAILED_LOGINS:
            wait = max(1, math.ceil((recent[-1] + FAILED_LOGIN_WINDOW_MS - now) / 1000))
            raise TooManyAttempts(
                f"Too many failed logins for {name!r} in the last {FAILED_LOGIN_WINDOW_MS // 60_000} minutes; "
                f"try again in {wait} s, or log in with an API token.",
                retry_after=wait,
            )

    # memberships --------------------------------------------------------------------------------------

    def add_member(self, project: str, user: str, role: Role | str, *, actor: str) -> Membership:
        """Give ``user`` ``role`` in ``project`` (created if new), or change the role they have there."""
        role = Role.parse(role)
        check_name(project, "project")
        with self._write() as conn:
            member = self._user(conn, user)
            project_id = self._project_id(conn, project, create=True)
            where = (project_members.c.project_id == project_id, project_members.c.user_id == member.id)
            previous = conn.execute(sa.select(project_members.c.role).where(*where)).scalar()
            if previous == role.value:
                return Membership(project, member.name, role)
            upsert = self._insert(project_members).values(
                project_id=project_id, user_id=member.id, role=role.value, updated_at=self._now()
            )
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["project_id", "user_id"], set_={"role": role.value, "updated_at": self._now()}
                )
            )
            details = {"user": member.name, "role": role.value, "previous_role": previous}
            audit.record(conn, actor, "member.set", project_id, f"user:{member.name}", details)
            return Membership(project, member.name, role)

    def remove_member(self, project: str, user: str, *, actor: str) -> None:
        """Take ``user``'s role in ``project`` away; ``NotFound`` if they have none there."""
        with self._write() as conn:
            member = self._user(conn, user)
            project_id = self._project_id(conn, project, create=False)
            where = (project_members.c.project_id == project_id, project_members.c.user_id == member.id)
            previous = conn.execute(sa.select(project_members.c.role).where(*where)).scalar()
            if previous is None:
                raise NotFound(
                    f"User {member.name!r} is not a member of project {project!r}; "
                    f"`shipyard members list {project}` shows who is."
                )
            conn.execute(project_members.delete().where(*where))
            details = {"user": member.name, "previous_role": previous}
            audit.record(conn, actor, "member.remove", project_id, f"user:{member.name}", details)

    def members(self, project: str | None = None) -> list[Membership]:
        """Every membership, by project then user; only ``project``'s when given (``NotFound`` if unknown)."""
        with self._read() as conn:
            query = _MEMBERS
            if project is not None:
                query = query.where(project_members.c.project_id == self._project_id(conn, project, create=False))
            rows = conn.execute(query.order_by(projects.c.name, users.c.name))
            return [Membership(row.project, row.user_name, Role(row.role)) for row in rows]


def _user(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        admin=bool(row.admin),
        disabled=row.disabled_at is not None,
        created_at=row.created_at,
        has_password=row.password_hash is not None,
    )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        user=row.user_name,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _usable(row: Any, now: int) -> None:
    """``Unauthenticated`` unless the token found is live and its user enabled."""
    which = f"API token {row.id}" + (f" ({row.name!r})" if row.name else "") + f" of {row.user_name!r}"
    if row.revoked_at is not None:
        raise Unauthenticated(f"{which} was revoked; ask an admin for a new one (`shipyard tokens create`).")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(f"{which} has expired; ask an admin for a new one (`shipyard tokens create`).")
    if row.disabled_at is not None:
        raise Unauthenticated(f"User {row.user_name!r} is disabled, and so are their tokens; ask a server admin.")


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"A user named {name!r} already exists; `shipyard users list` shows the users.")
