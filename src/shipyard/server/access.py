"""Who is calling, and may they: tokens to principals, and each operation's ``Access`` checked.

The project an operation touches is found by the server: from the ``project`` argument, or by looking up
the rows the call names by id (a run id says nothing to trust about its project). A caller without any
role in that project is told the row does not exist, so ids of other projects reveal nothing; a caller
with too weak a role is told which role the act needs. Every refused write is an audit event.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shipyard.client import wire
from shipyard.core.entities_accounts import Principal, Role
from shipyard.core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated

CACHE_SECONDS = 2.0
"""How long a token's principal is reused without asking the database (a revocation takes effect within it)."""


class TokenCache:
    """Principals by token, each for ``CACHE_SECONDS``: one database read per token per interval."""

    def __init__(self, authenticate: Callable[[str], Principal], seconds: float = CACHE_SECONDS) -> None:
        self._authenticate = authenticate
        self._seconds = seconds
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, Principal]] = {}

    def principal(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header; ``Unauthenticated`` without a valid token."""
        key, secret = self.key(authorization)
        return self.cached(key) or self.ask(key, secret)

    def cached(self, key: str) -> Principal | None:
        """The principal remembered for a token's key, if it is recent enough (no database read)."""
        with self._lock:
            found = self._found.get(key)
        if found is not None and time.monotonic() - found[0] < self._seconds:
            return found[1]
        return None

    def key(self, authorization: str | None) -> tuple[str, str]:
        if not authorization:
            raise Unauthenticated(
                "This server needs an API token: send 'Authorization: Bearer sy_…' (clients: set SHIPYARD_TOKEN)."
            )
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
        return hashlib.sha256(secret.strip().encode()).hexdigest(), secret.strip()

    def ask(self, key: str, secret: str) -> Principal:
        now = time.monotonic()
        principal = self._authenticate(secret)
        with self._lock:
            if len(self._found) > 10_000:
                self._found.clear()
            self._found[key] = (now, principal)
        return principal


INT64 = (-(2**63), 2**63 - 1)


def check_numbers(args: Mapping[str, Any]) -> None:
    """Refuse an integer no database column holds (past 64 bits), anywhere in the arguments: the drivers
    would fail on it with an error of the server's, not the caller's."""
    for name, value in args.items():
        path = _out_of_range(value)
        if path is not None:
            where = name + "".join(path[:-1])
            raise InvalidInput(f"{where}: {path[-1]} is out of range; integers here fit in 64 bits (|n| < 2**63).")


_SCALARS = (str, float, bool, type(None))
"""Values that hold no integer (``bool`` is an ``int`` that no column mistakes for one)."""


def _out_of_range(value: Any) -> list[str] | None:
    """Where in ``value`` an integer past 64 bits is (the path's steps, then the integer), or None.

    The path is made only for the integer found: a 10,000-point metric batch is 40,000 values, and naming each
    one's place on the way took 38 ms of its write (now 12)."""
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, int):
        return None if INT64[0] <= value <= INT64[1] else [str(value)]
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    else:
        return None
    for key, item in items:
        if isinstance(item, _SCALARS):
            continue
        found = _out_of_range(item)
        if found is not None:
            return [f"[{key}]" if isinstance(key, int) else f".{key}", *found]
    return None


def rank(role: str | Role) -> int:
    return wire.ROLES.index(str(role))


def has_role(principal: Principal, project: str, role: str) -> bool:
    held = principal.role_in(project)
    return held is not None and rank(held) >= rank(role)


class Refusal(PermissionDenied):
    """A ``PermissionDenied`` that the server records in the audit log (the act, the actor, the project)."""

    def __init__(self, message: str, *, project: str | None = None) -> None:
        super().__init__(message)
        self.project = project


class Hidden(NotFound):
    """A ``NotFound`` for a row the caller may not see (another project's, another user's token): answered as
    if it did not exist, and, for a write, recorded in the audit log like a ``Refusal``."""

    def __init__(self, message: str, *, project: str | None = None) -> None:
        super().__init__(message)
        self.project = project


def required_role(op: wire.Operation, args: Mapping[str, Any], protected: Callable[[str], frozenset[str]]) -> str:
    """The role ``op`` needs with these arguments: an override needs admin; a protected alias maintainer."""
    role = op.access.role
    if op.access.rule in ("alias", "override") and args.get("override_reason"):
        return "admin"
    if op.access.rule == "alias" and args.get("alias") in protected(str(args["project"])):
        return "maintainer"
    return role


def authorize(
    op: wire.Operation,
    args: Mapping[str, Any],
    principal: Principal,
    *,
    project_of: Callable[[str, Any], str | None],
    protected: Callable[[str], frozenset[str]],
    owns_token: Callable[[Principal, Any], bool] = lambda principal, token_id: False,
) -> None:
    """Raise unless ``principal`` may call ``op`` with ``args``."""
    access = op.access
    if principal.admin:
        return
    if access.role == wire.SERVER_ADMIN:
        raise Refusal(f"{op.label} is for server admins only; {principal.name} is not one.", project=None)
    if access.user is not None and args.get(access.user) != principal.name:
        raise Refusal(
            f"{op.label}: {principal.name} may act only on their own account; a server admin acts on others'.",
            project=None,
        )
    if access.rule == "own_token" and not owns_token(principal, args.get("token_id")):
        raise Hidden(f"No token {args.get('token_id')!r} of {principal.name}.", project=None)
    if access.user is not None or access.rule == "own_token":
        return
    if access.role == wire.MEMBER:
        if not principal.roles:
            raise Refusal(f"{principal.name} has no role in any project yet; ask an admin to add one.", project=None)
        return
    role = required_role(op, args, protected)
    projects: list[str] = []
    if access.project is not None and args.get(access.project) is not None:
        projects.append(str(args[access.project]))
    for name, kind in access.ids:
        value = args.get(name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            key = item[0] if isinstance(item, (list, tuple)) else item  # (id, role) pairs name the id first
            if key is None:
                continue
            owner = project_of(kind, key)
            if owner is None or principal.role_in(owner) is None:
                message = f"No {kind.replace('_', ' ')} {key!r} in the projects {principal.name} can see."
                raise NotFound(message) if owner is None else Hidden(message, project=owner)
            projects.append(owner)
    for project in dict.fromkeys(projects):
        if not has_role(principal, project, role):
            held = principal.role_in(project)
            raise Refusal(
                f"{op.label} in project {project!r} needs the {role} role; {principal.name} has "
                f"{'the ' + str(held) + ' role' if held else 'no role there'}. Ask an admin of the project.",
                project=project,
            )


def visible(principal: Principal, items: list[Any]) -> list[Any]:
    """Of a listing over every project, what the principal may see: items (or project names) of projects it
    has a role in; server-level items (no project) only for server admins."""
    if principal.admin:
        return items

    def allowed(item: Any) -> bool:
        project = item if isinstance(item, str) else getattr(item, "project", None)
        return project is not None and principal.role_in(project) is not None

    return [i for i in items if allowed(i)]
