"""``--threads``: how many requests a worker handles at once, each on a pooled PostgreSQL connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import anyio.to_thread
import httpx2 as httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from shipyard.cli.main import app as cli
from shipyard.core.config import Settings
from shipyard.core.errors import InvalidInput
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from shipyard.server.main import environment_for, open_store
from tests._server import server_thread


def test_threads_is_a_positive_setting_that_reaches_the_workers() -> None:
    settings = Settings.load(environ={"SHIPYARD_SERVER_THREADS": "8"})
    assert settings.server_threads == 8
    assert Settings.load(environ=environment_for(settings)).server_threads == 8  # what each worker process reads
    for bad in ("0", "-3", "many", "2.5"):
        with pytest.raises(InvalidInput, match="server_threads"):
            Settings.load(environ={"SHIPYARD_SERVER_THREADS": bad})


def test_the_cli_refuses_threads_below_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--db", str(tmp_path / "store"), "--threads", "0"])
    assert result.exit_code == 2
    assert "--threads" in result.output
    assert not (tmp_path / "store").exists()  # refused before anything was opened


def test_the_pool_keeps_a_connection_per_thread_and_the_app_runs_that_many(postgres_url: str, tmp_path: Path) -> None:
    backend = open_store(Settings.load(environ={}, uri=postgres_url, artifacts=str(tmp_path / "a"), server_threads=3))
    try:
        pool = backend.store.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        assert pool.size() == 3
        app = create_app(ServerContext(backend), threads=3)

        async def tokens_while_serving() -> float:
            async with app.router.lifespan_context(app):
                return anyio.to_thread.current_default_thread_limiter().total_tokens

        assert asyncio.run(tokens_while_serving()) == 3
    finally:
        backend.close()


def test_more_requests_than_threads_wait_their_turn_and_all_succeed(postgres_url: str, tmp_path: Path) -> None:
    """Twenty concurrent requests on a server that runs two at a time: the others wait, none fails, and every
    write lands once."""
    with server_thread(postgres_url, str(tmp_path / "a"), tmp_path, threads=2) as server:
        headers = {"Authorization": f"Bearer {server.admin_token}"}

        def create(i: int) -> int:
            body = {"run_id": f"r{i:02d}", "project": "load", "name": f"run {i}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
                return http.post("/api/v1/runs/create_run", json=body).status_code

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(create, range(20)))
        assert statuses == [200] * 20
        assert len(server.backend.store.search_runs("load")) == 20
