"""Requests for every operation of the wire, made from the server's own OpenAPI: the least a route accepts.

``arguments(op, …)`` fills each required argument from its JSON schema with a plain value, then puts real
names in the places that decide access: the project, the ids of rows (from ``Rows``) and the user acted on.
The security tests send them with tokens of every role; the value of the rest does not matter to access.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa

from shipyard.backends.local import LocalBackend
from shipyard.client import wire
from shipyard.store import schema
from tests.backends.conformance.conftest import new_dataset, new_run, new_version

CHANGING = frozenset({"audit_events", "audit_chain", "api_tokens", "login_failures"})
"""Tables a refused request may touch: its audit event (and chain), the token's last use, login counters."""


@dataclass(frozen=True)
class Rows:
    """One row of each kind that access is decided by, in one project."""

    project: str
    run: str
    dataset_version: str
    model_version: str
    alert: int
    loop: int


def make_rows(backend: LocalBackend, project: str) -> Rows:
    run = new_run(backend, project)
    data = new_dataset(backend, f"data-{uuid.uuid4().hex[:6]}", project)
    model = f"model-{uuid.uuid4().hex[:8]}"
    version = new_version(backend, model, project)
    alert, _ = backend.monitors.raise_alert(
        project, "drift", uuid.uuid4().hex[:8], model=model, message="drifted", details={}
    )
    loop = backend.loops.start(
        project,
        model,
        monitor="drift",
        alert_id=None,
        champion_version=None,
        baseline_version=version.version,
        actor="test",
        message="test",
    )
    return Rows(project, run.id, data.id, version.id, alert.id, loop.id)


def example(node: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A plain value that ``node`` (a JSON schema of ``spec``) accepts."""
    if "$ref" in node:
        return example(spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]], spec)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if o.get("type") != "null"] or node[key]
            return example(options[0], spec)
    kind = node.get("type")
    if kind == "object":
        return {name: example(node["properties"][name], spec) for name in node.get("required", [])}
    if kind == "array":
        if "prefixItems" in node:
            return [example(item, spec) for item in node["prefixItems"]]
        return [example(node.get("items", {}), spec)] * node.get("minItems", 0)
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": False, "null": None}.get(kind, "x")


def arguments(op: wire.Operation, spec: dict[str, Any], rows: Rows, user: str) -> dict[str, Any]:
    """The arguments of ``op`` a route accepts, touching ``rows`` and acting as (or on) ``user``."""
    detail = spec["paths"][op.path][op.verb.lower()]
    if op.verb == "GET":
        wanted = {p["name"]: p["schema"] for p in detail.get("parameters", []) if p.get("required")}
        args = {name: example(node, spec) for name, node in wanted.items()}
    else:
        body = detail["requestBody"]["content"]["application/json"]["schema"]
        args = example(body, spec)
    ids = {"run": rows.run, "dataset_version": rows.dataset_version, "model_version": rows.model_version}
    ids |= {"alert": rows.alert, "loop": rows.loop}
    for name, kind in op.access.ids:
        if name == "datasets_":  # a model version's training data: (dataset version id, role) pairs
            args[name] = [[ids[kind], "train"]]
        else:
            args[name] = [ids[kind]] if name.endswith("s") else ids[kind]
    if op.access.project is not None:
        args[op.access.project] = rows.project
    if op.access.user is not None:
        args[op.access.user] = user
    if op.label == "runs.create_run":
        args["run_id"] = uuid.uuid4().hex
    return args


def send(url: str, op: wire.Operation, args: dict[str, Any], token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if op.verb == "GET":
        return httpx.get(url + op.path, params=args, headers=headers, timeout=30)
    return httpx.post(url + op.path, json=args, headers=headers, timeout=30)


def snapshot(backend: LocalBackend) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but those a refusal may touch (``CHANGING``), sorted."""
    with backend.store.engine.connect() as conn:
        return {
            table.name: sorted(conn.execute(sa.select(table)).all(), key=repr)
            for table in schema.metadata.sorted_tables
            if table.name not in CHANGING
        }
