"""The backend conformance suite: every method of the ``Backend`` protocol, on every backend.

Tests here use only the protocol (``shipyard.backends.protocol``): no SQL, no engine, no store class. A new
backend joins by adding a parameter to ``backend`` below that builds it (an HTTP backend: a server in
process over the same temporary store); every test then runs against it too.

Two things differ by design over HTTP, and the helpers here say how: the server records the token's user as
the actor of every change, whatever ``actor``/``by`` the caller passed (``acting``), and no client writes a
verdict, so a test that needs one writes it where the server's own gate runs would (``verdicts_of``).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.backends import Backend, open_backend
from shipyard.backends.protocol import VerdictsBackend
from shipyard.client.http import HttpBackend
from shipyard.core.config import Settings
from shipyard.core.digests import digest_bytes
from shipyard.core.entities import DatasetVersion, ModelVersion, RunRecord
from tests._gate_helpers import CHEAP_POLICY
from tests._server import RunningServer, server_thread
from tests.conftest import BACKENDS, fresh_sqlite_store

PROJECT = "default"
HTTP_USER = "conformance"
"""The (server admin) user whose token the HTTP backend carries: the actor the server records."""
_count = itertools.count(1)
_servers: dict[int, RunningServer] = {}
_extra: list[Backend] = []  # backends of other users of a test's server (``weaker``), closed with it


@pytest.fixture(params=[*BACKENDS, pytest.param("http", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, empty backend (its store at the head revision): SQLite in a temporary folder, PostgreSQL in a
    schema of its own, or the HTTP backend of a server (on this process's thread) over such a PostgreSQL
    schema, with an admin's token."""
    if request.param == "sqlite":
        uri, artifacts = fresh_sqlite_store(request, tmp_path / ".shipyard"), str(tmp_path / ".shipyard" / "artifacts")
    else:
        uri, artifacts = request.getfixturevalue("migrated_postgres_url"), str(tmp_path / "artifacts")
    if request.param == "http":
        with server_thread(uri, artifacts, tmp_path) as server:
            token = server.token_for(HTTP_USER, admin=True)
            made = open_backend(Settings.load(cwd=tmp_path, environ={}, uri=server.url, token=token))
            _servers[id(made)] = server
            try:
                yield made
            finally:
                for other in [b for b in _extra if _servers.get(id(b)) is server]:
                    _extra.remove(other)
                    del _servers[id(other)]
                    other.close()
                del _servers[id(made)]
                made.close()
        return
    made = open_backend(Settings.load(cwd=tmp_path, environ={}, uri=uri, artifacts=artifacts))
    yield made
    made.close()


def server_of(backend: Backend) -> RunningServer | None:
    """The server behind an HTTP backend; None for a local one."""
    return _servers.get(id(backend))


def acting(backend: Backend, name: str) -> str:
    """Who ``backend`` records as the actor of a change made with ``actor=name``: ``name`` itself locally,
    the token's user over HTTP (the server never takes the client's word for who acts)."""
    return name if server_of(backend) is None else HTTP_USER


def weaker(backend: Backend, role: str = "maintainer") -> Backend:
    """The same store as a user with less power: locally ``backend`` itself (its power is the process's
    environment); over HTTP a new user with ``role`` in the project."""
    server = server_of(backend)
    if server is None:
        return backend
    user = f"{role}-{uuid.uuid4().hex[:6]}"
    made = HttpBackend(server.url, server.token_for(user, role, PROJECT))
    _servers[id(made)] = server
    _extra.append(made)
    return made


def verdicts_of(backend: Backend) -> VerdictsBackend:
    """Where a verdict is written: ``backend.verdicts`` locally; over HTTP the server's own store, as its
    gate runs do (``verdicts.add`` is refused to every client)."""
    server = server_of(backend)
    return backend.verdicts if server is None else server.backend.verdicts


def digest(text: str | None = None) -> str:
    return digest_bytes((text or uuid.uuid4().hex).encode())


def new_run(backend: Backend, project: str = PROJECT, **fields: Any) -> RunRecord:
    return backend.store.create_run(uuid.uuid4().hex, project=project, name="run", **fields)


def new_dataset(
    backend: Backend, name: str = "train", project: str = PROJECT, content: str | None = None
) -> DatasetVersion:
    version, _ = backend.datasets.add_version(
        project,
        name,
        digest=digest(content),
        blob_digest=digest(),
        rows=2,
        size_bytes=10,
        schema={"x": "double"},
        profile={"x": {"mean": 1.5}},
        description="",
        actor="tester",
    )
    return version


def new_version(backend: Backend, name: str = "churn", project: str = PROJECT, **fields: Any) -> ModelVersion:
    """The next version of ``name``: a registry row whose package digest is new each time."""
    given: dict[str, Any] = {
        "flavor": "python_function",
        "artifact_digest": digest(f"{name} {next(_count)}"),
        "package": {},
        "unsafe_format": False,
        "files": [],
        "run_id": None,
        "actor": "tester",
        **fields,
    }
    return backend.registry.create_version(project, name, **given)


def add_verdict(backend: Backend, version: ModelVersion, *, passed: bool = True, project: str = PROJECT) -> str:
    """Apply ``CHEAP_POLICY`` if no policy is in force, then record a verdict on ``gate-eval``; its id."""
    if backend.policies.in_force(project) is None:
        backend.policies.apply(project, CHEAP_POLICY, source="tests", actor="tester")
    policy = backend.policies.in_force(project)
    assert policy is not None
    try:
        data = backend.datasets.get_version(project, "gate-eval")
    except LookupError:
        data = new_dataset(backend, "gate-eval", project)
    verdict_id = uuid.uuid4().hex
    status = "pass" if passed else "fail"
    verdicts_of(backend).add(
        verdict_id,
        model_version_id=version.id,
        policy_digest=policy.digest,
        dataset_version_id=data.id,
        shipyard_version="test",
        passed=passed,
        result={"checks": [{"name": "min_rows", "severity": "error", "status": status, "message": status}]},
        report_digest=None,
        actor="tester",
    )
    return verdict_id
