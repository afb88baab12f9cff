"""Schemathesis over the server's own OpenAPI document: no request, however odd, makes the server fail.

Every operation gets a few generated requests (valid and invalid by the schema) with a server admin's
token, so access never stops them early. The checks: ``not_a_server_error`` (a client mistake must be a 4xx
with a message) and ``response_schema_conformance`` (every answer, errors included, has the shape the document
declares for its status).
Bounded: ``MAX_EXAMPLES`` per operation, derandomized, so the run takes well under three minutes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shipyard.client import wire
from tests._server import RunningServer, server_thread

MAX_EXAMPLES = 20
BUDGET_SECONDS = 150.0
"""Past this much fuzzing in one module, each remaining route gets one example: every route is still sent
something, and the module ends in under three minutes on a slow machine."""


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    with server_thread(str(folder / ".shipyard"), str(folder / "artifacts"), folder) as server:
        yield server


@pytest.fixture(scope="module")
def deadline() -> float:
    return time.monotonic() + BUDGET_SECONDS


@pytest.fixture(scope="module")
def api(fuzzed: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.url}{wire.API}/openapi.json")


ROUTES = [(op.verb, op.path) for op in wire.operations()] + [
    ("PUT", f"{wire.API}/blobs/{{digest}}"),
    ("GET", f"{wire.API}/blobs/{{digest}}"),
    ("GET", f"{wire.API}/blobs/{{digest}}/stat"),
    ("GET", f"{wire.API}/blobs/{{digest}}/url"),
    ("POST", f"{wire.API}/blobs/{{digest}}/upload"),
    ("POST", f"{wire.API}/blobs/{{digest}}/adopt"),
    ("GET", f"{wire.API}/blobs"),
    ("POST", f"{wire.API}/blobs/gc"),
    ("POST", f"{wire.API}/login"),
    ("POST", f"{wire.API}/gate/evaluate"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p.removeprefix(wire.API)}" for m, p in ROUTES])
def test_no_request_makes_the_server_fail(
    api: schemathesis.BaseSchema, fuzzed: RunningServer, deadline: float, method: str, path: str
) -> None:
    # a token of its own: the fuzzer may revoke the token it is given (accounts.revoke_token)
    _token, secret = fuzzed.backend.accounts.create_token("admin", name="fuzz", actor="test")
    headers = {"Authorization": f"Bearer {secret}"}

    @given(case=api[path][method].as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES if time.monotonic() < deadline else 1,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=fuzzed.url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    fuzz()


def test_the_routes_fuzzed_are_every_route_of_the_document(api: schemathesis.BaseSchema) -> None:
    documented = {(op.ok().method.upper(), op.ok().path) for op in api.get_all_operations()}
    assert documented == set(ROUTES)


# what the fuzzer found, pinned ------------------------------------------------------------------------


def _post(server: RunningServer, path: str, body: dict[str, object]) -> httpx.Response:
    _token, secret = server.backend.accounts.create_token("admin", actor="test")  # the fuzzer may revoke others
    auth = {"Authorization": f"Bearer {secret}"}
    return httpx.post(f"{server.url}{wire.API}/{path}", json=body, headers=auth, timeout=30)


def test_a_refused_write_in_a_new_project_leaves_nothing_dangling(fuzzed: RunningServer) -> None:
    version = {"project": "fresh", "name": "m", "flavor": "f", "artifact_digest": "d", "package": {}}
    version |= {"unsafe_format": False, "files": []}
    assert _post(fuzzed, "registry/create_version", version | {"run_id": "no-such-run"}).status_code == 404
    assert _post(fuzzed, "registry/create_version", version | {"run_id": None}).status_code == 200


def test_numbers_past_64_bits_and_repeated_ids_are_client_errors(fuzzed: RunningServer) -> None:
    assert _post(fuzzed, "schedules/renew", {"schedule_id": 1, "owner": "o", "lease_until": 2**64}).status_code == 422
    run = {"run_id": uuid.uuid4().hex, "project": "p", "name": "r"}
    assert _post(fuzzed, "runs/create_run", run).status_code == 200
    assert _post(fuzzed, "runs/create_run", run).status_code == 409
    assert _post(fuzzed, "runs/resume_run", {"run_id": run["run_id"], "pid": 2**40}).status_code == 422
