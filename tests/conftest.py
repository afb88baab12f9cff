"""Shared fixtures: every store-facing test runs on the embedded SQLite and on the real PostgreSQL, and a
test that reaches the store only through ``client`` also runs on the HTTP backend of a server.

PostgreSQL comes from ``SHIPYARD_TEST_POSTGRES_URL`` (default: the local server, database ``test``);
each test gets a schema of its own. A store a fixture opens for a test starts at the head revision as a
copy of one the migrations built once per session (see tests/_stores.py); ``empty_store_settings`` and
``postgres_url`` leave the database empty, for tests of what opening or upgrading one does. Outside CI a
missing server skips those tests with the reason;
under ``CI=true`` it fails them. The S3 test server's fixtures, ``s3_server`` and ``s3_bucket``, come
from tests/_s3.py, with the same rule.

``backend_kind`` says which backend a test has: "sqlite", "postgres" or "http" (a ``shipyard server`` on a
thread of this process over a PostgreSQL schema, ``client`` carrying a server admin's token). A test whose
fixtures take ``store_settings`` opens local stores of its own, so it runs on the two local kinds only, as
does a test marked ``local_only(reason)``; ``server_of(client)`` is the server behind an HTTP client. A test
that opens a second client or runs the CLI on ``client``'s store does it as a user would, with
``another_client(client)`` or ``client_env(client)``: over HTTP these carry the token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import shipyard as sy
from tests._s3 import s3_bucket, s3_server  # noqa: F401  (fixtures: the S3 test server, see tests/_s3.py)
from tests._stores import (
    SchemaPool,
    copy_sqlite,
    new_schema_name,
    record_postgres_migrations,
    schema_url,
    sqlite_template,
)

if TYPE_CHECKING:
    from tests._server import RunningServer

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IN_CI = os.environ.get("CI", "").lower() == "true"
HTTP_EVERYWHERE = os.environ.get("SHIPYARD_TEST_HTTP", "") == "all"
"""``SHIPYARD_TEST_HTTP=all``: every test that can also runs on HTTP, not only the suites marked ``over_http``."""
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = [*BACKENDS, pytest.param("http", marks=pytest.mark.postgres)]
"""The HTTP backend runs the suites marked ``over_http``: one or two per domain, to keep the whole run short."""
HTTP_USER = "domain"
"""The (server admin) user whose token an HTTP ``client`` carries: the actor the server records."""
_servers: dict[int, RunningServer] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "over_http: also run on the HTTP backend (a module's pytestmark: the suites chosen for it)"
    )
    config.addinivalue_line(
        "markers", "local_only(reason): needs a local store (SQL, the store object, its files, another process)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that has ``backend_kind`` runs on each local backend, and on HTTP too when it is marked
    ``over_http`` and opens no store of its own (``store_settings``, ``empty_store_settings``) and is not
    ``local_only``."""
    if "backend_kind" not in metafunc.fixturenames:
        return
    if any("backend_kind" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its own
    local = ["sqlite"] if "sqlite_locally" in metafunc.fixturenames else BACKENDS
    http = (
        (HTTP_EVERYWHERE or metafunc.definition.get_closest_marker("over_http") is not None)
        and metafunc.definition.get_closest_marker("local_only") is None
        and not {"store_settings", "empty_store_settings"} & set(metafunc.fixturenames)
    )
    metafunc.parametrize("backend_kind", [*local, ALL_BACKENDS[-1]] if http else local)


@pytest.fixture
def sqlite_locally() -> None:
    """Taken by a suite's fixtures to run locally on SQLite only (its store use is the same on PostgreSQL)."""


@pytest.fixture
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def server_of(client: sy.Client) -> RunningServer | None:
    """The server behind an HTTP ``client``; None for a local one."""
    return _servers.get(id(client))


def client_env(client: sy.Client) -> dict[str, str]:
    """The environment a user sets to reach ``client``'s store from the CLI or another process:
    ``SHIPYARD_URI``, ``SHIPYARD_ARTIFACTS`` and, for a server, ``SHIPYARD_TOKEN`` (the client's token)."""
    settings = client.settings
    env = {"SHIPYARD_URI": settings.uri, "SHIPYARD_ARTIFACTS": settings.artifacts}
    return env | ({"SHIPYARD_TOKEN": settings.token} if settings.token else {})


def another_client(client: sy.Client, **options: Any) -> sy.Client:
    """A second client of ``client``'s store, opened as a user would (for a server, with the same token);
    ``options`` go to ``sy.Client`` (``cwd``, ``project``, …). The caller closes it."""
    settings = client.settings
    made = {"artifacts": settings.artifacts, "capture_environment": False} | (
        {"token": settings.token} if settings.token else {}
    )
    return sy.Client(settings.uri, **(made | options))


def acting(client: sy.Client, name: str) -> str:
    """Who is recorded as the actor of a change ``client`` makes as ``name``: the token's user over HTTP."""
    return name if server_of(client) is None else HTTP_USER


def _postgres_admin() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # the driver's own error types vary; any failure means "not reachable"
        engine.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}: {exc})"
        if IN_CI:
            pytest.fail(message + "; CI needs it (set SHIPYARD_TEST_POSTGRES_URL)")
        pytest.skip(message)
    return engine


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = _postgres_admin()
    yield engine
    engine.dispose()


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A URL whose connections live in a fresh, empty schema, dropped after the test."""
    schema = new_schema_name()
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield schema_url(POSTGRES_URL, schema)
    _drop_schema(postgres_admin, schema)


@pytest.fixture(scope="session")
def postgres_schemas(postgres_admin: sa.Engine) -> Iterator[SchemaPool]:
    """Schemas at the head revision: the migrations recorded once per session, replayed ahead of the tests."""
    pool = SchemaPool(record_postgres_migrations(POSTGRES_URL, postgres_admin, new_schema_name()), postgres_admin)
    yield pool
    pool.close()


@pytest.fixture
def migrated_postgres_url(postgres_schemas: SchemaPool) -> Iterator[str]:
    """Like ``postgres_url``, with the schema at the head revision, as the migrations leave it."""
    schema = postgres_schemas.take()
    yield schema_url(POSTGRES_URL, schema)
    postgres_schemas.give_back(schema)


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database at the head revision, built by the migrations once per session."""
    return sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


def fresh_sqlite_store(request: pytest.FixtureRequest, folder: Path) -> str:
    """A store folder with a database at the head revision (a copy of ``sqlite_database``); its URI."""
    copy_sqlite(request.getfixturevalue("sqlite_database"), folder)
    return str(folder)


def _local_settings(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if kind == "sqlite":
        uri = fresh_sqlite_store(request, tmp_path / ".shipyard")
        return {"uri": uri, "artifacts": str(tmp_path / ".shipyard" / "artifacts")}
    return {"uri": request.getfixturevalue("migrated_postgres_url"), "artifacts": str(tmp_path / "artifacts")}


@pytest.fixture
def store_settings(backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings for a fresh local store at the head revision: ``uri`` and ``artifacts``, on SQLite or PostgreSQL."""
    assert backend_kind != "http", "a test with store_settings runs on local backends only"
    return _local_settings(backend_kind, request, tmp_path)


@pytest.fixture
def empty_store_settings(backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Like ``store_settings``, for a store whose database has no schema yet (it is made when opened)."""
    assert backend_kind != "http", "a test with empty_store_settings runs on local backends only"
    if backend_kind == "sqlite":
        return {"uri": str(tmp_path / ".shipyard"), "artifacts": str(tmp_path / ".shipyard" / "artifacts")}
    return {"uri": request.getfixturevalue("postgres_url"), "artifacts": str(tmp_path / "artifacts")}


@pytest.fixture
def client(backend_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sy.Client]:
    """A client of a fresh store of ``backend_kind``, working in ``tmp_path``."""
    if backend_kind != "http":
        settings = _local_settings(backend_kind, request, tmp_path)
        made = sy.Client(settings["uri"], artifacts=settings["artifacts"], capture_environment=False, cwd=tmp_path)
        yield made
        made.close()
        return
    from tests._server import server_thread  # the server's modules, only for the tests that need one

    settings = _local_settings("postgres", request, tmp_path)
    with server_thread(settings["uri"], settings["artifacts"], tmp_path / "server") as server:
        token = server.token_for(HTTP_USER, admin=True)
        made = sy.Client(server.url, token=token, capture_environment=False, cwd=tmp_path)
        _servers[id(made)] = server
        try:
            yield made
        finally:
            del _servers[id(made)]
            made.close()
