from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import shipyard
from shipyard.cli.main import app
from tests.cli.helpers import Invoke
from tests.conftest import fresh_sqlite_store


@pytest.fixture
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[shipyard.Client]:
    client = shipyard.Client(fresh_sqlite_store(request, tmp_path / ".shipyard"), capture_environment=False)
    yield client
    client.close()


@pytest.fixture
def invoke(store: shipyard.Client) -> Invoke:
    """Run ``shipyard --uri <store> ARGS…`` in process, on a terminal 200 columns wide."""

    def run(*args: str, input: str | None = None) -> Result:
        runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
        return runner.invoke(app, ["--uri", store.settings.uri, *args], input=input)

    return run
