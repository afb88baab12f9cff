"""Fixtures for pipeline tests: a store (``client``), pipeline files
written into the test's folder, and executors.

Pipelines are written to files and loaded by path, as ``shipyard pipeline run`` does, so their code
travels to workers the way a user's would. ``executor`` runs a test on the local process pool and on a
real local Ray instance (2 CPUs, started once per session).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.pipelines import Pipeline
from shipyard.pipelines.loader import load_pipeline

WritePipeline = Callable[..., Pipeline]


@pytest.fixture
def client(client: shipyard.Client, sqlite_locally: None) -> shipyard.Client:
    """tests/conftest.py's client: SQLite locally, and the HTTP backend in the suites marked ``over_http``."""
    return client


@pytest.fixture
def write_pipeline(tmp_path: Path) -> WritePipeline:
    """Write ``source`` to ``tmp_path/<file>`` and load the pipeline ``name`` from it (again after each write)."""

    def write(source: str, name: str | None = None, file: str = "flow.py") -> Pipeline:
        path = tmp_path / file
        path.write_text(textwrap.dedent(source))
        return load_pipeline(f"{path}:{name}" if name else str(path))

    return write


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A local Ray instance with 2 CPUs for the session (one already running is used and left running)."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_session")
    return str(request.param)
