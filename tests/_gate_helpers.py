"""Test helpers for stores that need a passing verdict without running a real model through the gate.

``pass_gate`` goes through the store's own paths (the policy applied, a verdict written: over HTTP in the
server's store, as the server's own gate runs write it), so the store still decides everything: the policy
in force, whether the verdict is binding, whether it agrees with its checks. Only the
checks' outcome is given instead of measured.
"""

from __future__ import annotations

import uuid

import shipyard as sy
from shipyard.backends.protocol import VerdictsBackend

CHEAP_POLICY = {"data": "gate-eval", "checks": [{"kind": "min_rows", "min": 1}]}


def bare_version(client: sy.Client, name: str = "churn", *, project: str = "default") -> sy.ModelVersion:
    """The next version of ``name``: a registry row with no package behind it, for tests of the store alone."""
    from shipyard.core.digests import digest_bytes

    count = len(client.backend.registry.list_versions(project, name)) if _exists(client, name, project) else 0
    return client.backend.registry.create_version(
        project,
        name,
        flavor="python_function",
        artifact_digest=digest_bytes(f"{name} {count + 1}".encode()),
        package={},
        unsafe_format=False,
        files=[],
        run_id=None,
        actor="tester",
    )


def _exists(client: sy.Client, name: str, project: str) -> bool:
    return any(m.name == name for m in client.backend.registry.list_models(project))


def verdicts_of(client: sy.Client) -> VerdictsBackend:
    """Where a verdict is written: the client's own store, or over HTTP the server's, as its gate runs do
    (no client may write a verdict through the API)."""
    from tests.conftest import server_of

    server = server_of(client)
    return client.backend.verdicts if server is None else server.backend.verdicts


def pass_gate(client: sy.Client, name: str, version: int, *, project: str = "default", passed: bool = True) -> str:
    """Apply ``CHEAP_POLICY`` if no policy is in force, then record a verdict for ``name@version``; its id."""
    backend = client.backend
    if backend.policies.in_force(project) is None:
        backend.policies.apply(project, CHEAP_POLICY, source="tests", actor="tester")
    try:
        data = client.datasets.get("gate-eval", project=project)
    except sy.NotFound:
        data = client.datasets.register("gate-eval", {"x": [1.0, 2.0]}, project=project)
    target = client.models.get(f"{name}@{version}", project=project)
    verdict_id = uuid.uuid4().hex
    status = "pass" if passed else "fail"
    verdicts_of(client).add(
        verdict_id,
        model_version_id=target.id,
        policy_digest=backend.policies.in_force(project).digest,  # type: ignore[union-attr]
        dataset_version_id=data.id,
        shipyard_version=sy.__version__,
        passed=passed,
        result={"checks": [{"name": "min_rows", "severity": "error", "status": status, "message": status}]},
        report_digest=None,
        actor="tester",
    )
    return verdict_id
