"""Records of a team server's accounts: users, API tokens, per-project roles, and who is calling.

A role is a rung of one ladder, ``viewer < editor < maintainer < admin``: each may do what the ones
below it may. A server admin is ``admin`` in every project, members or not.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import InvalidInput

USER_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
"""A user name: 1 to 64 lowercase letters, digits and ``. _ @ -``, starting with a letter or digit. Lowercase
only, so that two accounts never differ by case alone."""


def check_user_name(name: object) -> str:
    if isinstance(name, str) and USER_NAME.fullmatch(name):
        return name
    shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80]) + "…"
    raise InvalidInput(
        "A user name is 1 to 64 characters: lowercase letters, digits, '.', '_', '@' and '-', starting with a "
        f"letter or digit (such as 'alice' or 'ci-bot'); got {shown}."
    )


class Role(enum.StrEnum):
    """A user's role in one project, lowest first."""

    VIEWER = "viewer"
    EDITOR = "editor"
    MAINTAINER = "maintainer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer up to 3 for admin: ``role.rank >= needed.rank`` means the role suffices."""
        return list(Role).index(self)

    # Ordered by rank, not alphabetically as strings are ("admin" < "viewer"), so that
    # ``role >= Role.MAINTAINER`` means what it says; a plain string is read as a role first.
    def __lt__(self, other: object) -> bool:
        return self.rank < Role.parse(other).rank

    def __le__(self, other: object) -> bool:
        return self.rank <= Role.parse(other).rank

    def __gt__(self, other: object) -> bool:
        return self.rank > Role.parse(other).rank

    def __ge__(self, other: object) -> bool:
        return self.rank >= Role.parse(other).rank

    @classmethod
    def parse(cls, text: object) -> Role:
        """The role ``text`` names (any case); ``InvalidInput`` naming the roles otherwise."""
        if isinstance(text, Role):
            return text
        if isinstance(text, str) and text.strip().lower() in {r.value for r in Role}:
            return Role(text.strip().lower())
        names = [r.value for r in Role]
        close = difflib.get_close_matches(str(text).lower(), names, n=1) if isinstance(text, str) else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInput(
            f"Unknown role {text!r}; a role is one of {', '.join(names)} (lowest to highest, each "
            f"allowed what the ones before it are).{hint}"
        )


@dataclass(frozen=True, slots=True)
class User:
    """A person or machine with an account; ``has_password`` says whether password login can work."""

    id: int
    name: str
    admin: bool
    disabled: bool
    created_at: int
    has_password: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "admin": self.admin,
            "disabled": self.disabled,
            "created_at": self.created_at,
            "has_password": self.has_password,
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's record. The secret itself is never kept: ``prefix`` (its first 8 characters after
    ``sy_``) tells tokens apart in a listing."""

    id: int
    user: str
    name: str
    prefix: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None

    def state(self, now_ms: int) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now_ms``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now_ms:
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class Membership:
    project: str
    user: str
    role: Role

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "user": self.user, "role": self.role.value}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, their roles by project, and the token they came with (None: a password login)."""

    name: str
    admin: bool
    roles: Mapping[str, Role] = field(default_factory=dict)
    token_id: int | None = None

    def role_in(self, project: str) -> Role | None:
        """The caller's role in ``project``; a server admin is admin everywhere; None for no role at all."""
        return Role.ADMIN if self.admin else self.roles.get(project)

    def allows(self, project: str, needed: Role) -> bool:
        """Whether the caller's role in ``project`` is ``needed`` or higher."""
        role = self.role_in(project)
        return role is not None and role >= needed

    @property
    def projects(self) -> tuple[str, ...]:
        """The projects the caller is a member of, sorted (a server admin may use others too)."""
        return tuple(sorted(self.roles))
