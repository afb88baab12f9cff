"""The wire: every method of the backend seam as an HTTP operation, and who may call it.

One table serves both ends. ``shipyard server`` makes a route of each operation; ``HttpBackend`` makes a
method of each that calls the route. An operation's path is ``/api/v1/{part}/{method}``; a read whose
arguments are all plain values is a ``GET`` with a query string, everything else a ``POST`` with a JSON body
holding the arguments by name. Argument and answer types are the protocol's own annotations, so the two
ends cannot drift apart from the seam (``tests/server/test_wire.py`` checks the table covers it).

``Access`` says who may call an operation: the role needed in the project the call touches, and how the
server finds that project: an argument naming it, or ids whose rows it looks up (never the client's word).
Arguments named ``actor`` or ``by`` are not sent: the server fills them with the token's user.
"""

from __future__ import annotations

import builtins
import collections.abc
import functools
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

from shipyard.backends import protocol

API = "/api/v1"

ROLES = ("viewer", "editor", "maintainer", "admin")
"""The per-project roles, weakest first; each can do what the ones before it can."""

SERVER_ADMIN = "server-admin"
"""Only a server admin: operations over every project (gc, the audit chain, schedulers' leases)."""
MEMBER = "member"
"""Anyone with a role in some project (content-addressed blobs and references carry no project)."""

FILLED_BY_SERVER = frozenset({"actor", "by"})


@dataclass(frozen=True)
class Access:
    """Who may call an operation.

    ``role`` is one of ``ROLES``, ``SERVER_ADMIN`` or ``MEMBER``. ``project`` names the argument holding the
    project; with ``all_projects`` it may be None, and a list answer is then cut to the caller's projects.
    ``ids`` pairs arguments with the kind of row they name (see ``shipyard.store.scopes``); the caller needs
    ``role`` in each row's project. ``rule`` names a stronger requirement decided from the arguments
    (``alias``: a protected alias needs maintainer, an override admin; ``own_token``: a user revokes only
    their own tokens). ``user`` names an argument holding a user name: users act on their own account, a
    server admin on anyone's.
    """

    role: str
    project: str | None = None
    ids: tuple[tuple[str, str], ...] = ()
    all_projects: bool = False
    rule: str | None = None
    user: str | None = None


def _in(role: str, *ids: tuple[str, str], rule: str | None = None) -> Access:
    return Access(role, project="project", ids=ids, rule=rule)


def _on(role: str, *ids: tuple[str, str]) -> Access:
    return Access(role, ids=ids)


def _any(role: str = "viewer") -> Access:
    return Access(role, project="project", all_projects=True)


RUN = ("run_id", "run")
DATASET = ("dataset_version_id", "dataset_version")
MODEL_VERSION = ("model_version_id", "model_version")

# part on the wire -> (the Backend attribute, its protocol, {method: Access, or None: never over HTTP})
TABLE: dict[str, tuple[str, type, dict[str, Access | None]]] = {
    "runs": (
        "store",
        protocol.RunsBackend,
        {
            "create_run": _in("editor"),
            "resume_run": _on("editor", RUN),
            "end_run": _on("editor", RUN),
            "heartbeat": _on("editor", ("run_ids", "run")),
            "delete_run": _on("editor", RUN),
            "restore_run": _on("editor", RUN),
            "purgeable_runs": Access(SERVER_ADMIN),
            "purge_deleted_runs": Access(SERVER_ADMIN),
            "write": _on("editor", RUN),
            "next_steps": _on("viewer", RUN),
            "get_metric_history": _on("viewer", RUN),
            "add_artifacts": _on("editor", RUN),
            "list_artifacts": _on("viewer", RUN),
            "referenced_digests": Access(SERVER_ADMIN),
            "get_run": _on("viewer", RUN),
            "search_runs": _any(),
            "list_projects": Access(MEMBER),
        },
    ),
    "datasets": (
        "datasets",
        protocol.DatasetsBackend,
        {
            "add_version": _in("editor"),
            "get_version": _in("viewer"),
            "list_versions": _in("viewer"),
            "list_datasets": _any(),
            "add_run_input": _on("editor", RUN, DATASET),
            "run_inputs": _on("viewer", RUN),
            "runs_using": _on("viewer", DATASET),
        },
    ),
    "registry": (
        "registry",
        protocol.RegistryBackend,
        {
            "create_version": _in("editor", ("datasets_", "dataset_version"), ("parents", "model_version")),
            "get_version": _in("viewer"),
            "list_versions": _in("viewer"),
            "list_models": _any(),
            "versions_using_dataset": _on("viewer", DATASET),
            "set_alias": _in("editor", rule="alias"),
            "protected_aliases": _in("viewer"),
            "rollback": _in("maintainer", rule="override"),
            "delete_alias": _in("editor", rule="alias"),
            "set_status": _in("editor"),
            "delete_version": _in("editor"),
            "set_version_tags": _in("editor"),
            "set_description": _in("editor"),
            "verify_audit": Access(SERVER_ADMIN),
            "audit_head": Access(SERVER_ADMIN),
            "audit_events": _any(),
        },
    ),
    "verdicts": (
        "verdicts",
        protocol.VerdictsBackend,
        {
            "add": None,  # verdicts are written by the server's own gate runs, never by a client
            "binding_of": _in("viewer"),
            "latest": _on("viewer", MODEL_VERSION),
            "decision": _in("viewer", MODEL_VERSION),
        },
    ),
    "policies": (
        "policies",
        protocol.PoliciesBackend,
        {"apply": _in("maintainer"), "in_force": _in("viewer"), "history": _in("viewer")},
    ),
    "pipelines": (
        "pipelines",
        protocol.PipelinesBackend,
        {
            "add_nodes": _on("editor", ("pipeline_run_id", "run")),
            "update_node": _on("editor", ("pipeline_run_id", "run")),
            "nodes": _on("viewer", ("pipeline_run_id", "run")),
            "find_cached": Access(MEMBER),
            "add_outputs": _on("editor", RUN),
            "producers": _on("viewer", DATASET),
            "outputs_of": _on("viewer", RUN),
        },
    ),
    "schedules": (
        "schedules",
        protocol.SchedulesBackend,
        {
            "upsert": _in("editor"),
            "delete": _in("editor"),
            "claim_due": Access(SERVER_ADMIN),
            "renew": Access(SERVER_ADMIN),
            "release": Access(SERVER_ADMIN),
            "earliest_next_run": Access(SERVER_ADMIN),
            "list": _any(),
        },
    ),
    "predictions": (
        "predictions",
        protocol.PredictionsBackend,
        {"add_segment": _in("editor"), "segments": _in("viewer")},
    ),
    "monitors": (
        "monitors",
        protocol.MonitorsBackend,
        {
            "put_reference": Access(MEMBER),
            "get_reference": Access(MEMBER),
            "add_window": _in("editor"),
            "windows": _in("viewer"),
            "last_window": _in("viewer"),
            "raise_alert": _in("editor"),
            "resolve_rule": _in("editor"),
            "set_state": _on("editor", ("alert_id", "alert")),
            "alerts": _any(),
            "set_notification": _on("editor", ("alert_id", "alert")),
        },
    ),
    "canaries": (
        "canaries",
        protocol.CanariesBackend,
        {
            "start": _in("maintainer", rule="override"),
            "end": _in("maintainer"),
            "running": _in("viewer"),
            "history": _in("viewer"),
        },
    ),
    "loops": (
        "loops",
        protocol.LoopsBackend,
        {
            "start": _in("editor"),
            "advance": _on("editor", ("loop_id", "loop")),
            "loops": _any(),
        },
    ),
    "accounts": (
        "accounts",
        protocol.AccountsBackend,
        {
            "add_user": Access(SERVER_ADMIN),
            "get_user": Access(MEMBER, user="name"),
            "list_users": Access(SERVER_ADMIN),
            "count_users": Access(SERVER_ADMIN),
            "disable_user": Access(SERVER_ADMIN),
            "set_password": Access(MEMBER, user="name"),
            "create_token": Access(MEMBER, user="user"),
            "list_tokens": Access(MEMBER, user="user"),
            "revoke_token": Access(MEMBER, rule="own_token"),
            "authenticate": None,  # the server's own step on every request
            "login": None,  # the web UI's login route, rate-limited there
            "add_member": _in("admin"),
            "remove_member": _in("admin"),
            "members": _any(),
        },
    ),
}


READS = frozenset(
    {
        "runs.purgeable_runs",
        "runs.referenced_digests",
        "runs.list_projects",
        "registry.verify_audit",
        "registry.audit_head",
        "pipelines.find_cached",
        "schedules.earliest_next_run",
        "monitors.get_reference",
        "accounts.get_user",
        "accounts.list_users",
        "accounts.count_users",
        "accounts.list_tokens",
    }
)
"""Operations that change nothing, beyond those for viewers: a ``GET`` when their arguments fit a query."""


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    keywords: bool = False  # ``**fields``: sent as one object of that name

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class Operation:
    """One method of a protocol part as an HTTP operation; what is derived from it is computed once (a server asks
    on every request)."""

    part: str
    attr: str
    method: str
    access: Access
    params: tuple[Param, ...]
    returns: Any

    @functools.cached_property
    def path(self) -> str:
        return f"{API}/{self.part}/{self.method}"

    @functools.cached_property
    def sent(self) -> tuple[Param, ...]:
        """The parameters a client sends (``actor`` and ``by`` are the server's to fill)."""
        return tuple(p for p in self.params if p.name not in FILLED_BY_SERVER)

    @functools.cached_property
    def verb(self) -> str:
        if (self.access.role == "viewer" or self.label in READS) and all(_plain(p.annotation) for p in self.sent):
            return "GET"
        return "POST"

    @functools.cached_property
    def paged(self) -> bool:
        """A list answer, fetched page by page (``page_token``/``page_size``) and joined by the client."""
        return typing.get_origin(self.returns) in (list, builtins.list)

    @functools.cached_property
    def label(self) -> str:
        return f"{self.part}.{self.method}"


_SCALARS = (str, int, float, bool, type(None))


def _plain(annotation: Any) -> bool:
    """A value a query string carries: a scalar, an optional one, or a sequence of strings."""
    if annotation in _SCALARS:
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_plain(a) for a in args)
    if origin in (collections.abc.Sequence, tuple, list):
        return all(a in (str, Ellipsis) for a in args)
    return False


def _params(function: Any) -> tuple[tuple[Param, ...], Any]:
    hints = typing.get_type_hints(function)
    params = []
    for name, p in inspect.signature(function).parameters.items():
        if name == "self":
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            params.append(Param("fields", dict[str, Any], {}, keywords=True))
        else:
            params.append(Param(name, hints[name], p.default))
    return tuple(params), hints.get("return")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation on the wire, in table order."""
    found = []
    for part, (attr, proto, methods) in TABLE.items():
        for method, access in methods.items():
            if access is None:
                continue
            params, returns = _params(getattr(proto, method))
            found.append(Operation(part, attr, method, access, params, returns))
    return tuple(found)


def operation(attr: str, method: str) -> Operation | None:
    """The operation for ``backend.<attr>.<method>``, or None when it is not on the wire."""
    return _by_attr().get((attr, method))


@functools.cache
def _by_attr() -> dict[tuple[str, str], Operation]:
    return {(op.attr, op.method): op for op in operations()}


def server_only(attr: str) -> frozenset[str]:
    """Methods of a part that exist only on the server (``verdicts.add``)."""
    for part_attr, _proto, methods in TABLE.values():
        if part_attr == attr:
            return frozenset(m for m, a in methods.items() if a is None)
    return frozenset()
