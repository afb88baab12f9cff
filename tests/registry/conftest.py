"""Registry tests create versions straight through the store: no model library is needed for them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import shipyard as sy
from shipyard.core.digests import digest_bytes

NewVersion = Callable[..., sy.ModelVersion]


@pytest.fixture
def new_version(client: sy.Client) -> NewVersion:
    def make(name: str = "churn", project: str = "default", run_id: str | None = None) -> sy.ModelVersion:
        return client.backend.registry.create_version(
            project,
            name,
            flavor="python_function",
            artifact_digest=digest_bytes(name.encode()),
            package={},
            unsafe_format=False,
            files=[],
            run_id=run_id,
            actor="tester",
        )

    return make
