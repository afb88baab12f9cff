"""Shared fixtures: every store-facing test runs on the embedded SQLite and on the real PostgreSQL.

PostgreSQL comes from ``SHIPYARD_TEST_POSTGRES_URL`` (default: the local server, database ``test``);
each test gets a schema of its own. Outside CI a missing server skips those tests with the reason;
under ``CI=true`` it fails them. The S3 test server's fixtures, ``s3_server`` and ``s3_bucket``, come
from tests/_s3.py, with the same rule.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

import shipyard as sy
from tests._s3 import s3_bucket, s3_server  # noqa: F401  (fixtures: the S3 test server, see tests/_s3.py)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped after the test."""
    schema = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings for a fresh store: ``uri`` and ``artifacts``, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return {"uri": str(tmp_path / ".shipyard"), "artifacts": str(tmp_path / ".shipyard" / "artifacts")}
    url = request.getfixturevalue("postgres_url")
    return {"uri": url, "artifacts": str(tmp_path / "artifacts")}


@pytest.fixture
def client(store_settings: dict[str, str], tmp_path: Path) -> Iterator[sy.Client]:
    made = sy.Client(
        store_settings["uri"], artifacts=store_settings["artifacts"], capture_environment=False, cwd=tmp_path
    )
    yield made
    made.close()
