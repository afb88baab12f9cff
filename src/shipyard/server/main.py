"""Starting a server: open the store (schema current, blob store reachable), the first admin, uvicorn.

``create_from_environment`` is the factory uvicorn's workers call: each worker process opens its own
backend from ``SHIPYARD_URI``/``SHIPYARD_ARTIFACTS``, so ``--workers N`` shares nothing but the store.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from fastapi import FastAPI

from shipyard.backends.local import LocalBackend, open_local
from shipyard.core.config import Settings
from shipyard.core.errors import InvalidInput
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext

FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class FirstAdmin:
    name: str
    token: str


def open_store(settings: Settings) -> LocalBackend:
    """The server's backend; refuses a server URI (a server serves a store, not another server) and an
    outdated schema (``SchemaOutdated`` says to run ``shipyard db upgrade``)."""
    if settings.uri.split("://", 1)[0].lower() in ("http", "https"):
        raise InvalidInput(
            f"A server serves a database and an artifact store, not another server ({settings.uri}); pass --db "
            "postgresql+psycopg://… --artifacts s3://… (or a folder)."
        )
    # A server never migrates on its own (`shipyard db upgrade`); it keeps a connection per request thread.
    backend = open_local(settings, auto_upgrade=False, pool_size=settings.server_threads)
    check = getattr(backend.blobs, "check_reachable", None)
    if callable(check):
        check()
    return backend


def ensure_first_admin(backend: LocalBackend, actor: str) -> FirstAdmin | None:
    """On a server with no user yet: an admin and its token (shown once); None when users exist."""
    accounts = backend.accounts
    if accounts.count_users() > 0:
        return None
    accounts.add_user(FIRST_ADMIN, admin=True, actor=actor)
    _token, secret = accounts.create_token(FIRST_ADMIN, name="first admin", actor=actor)
    return FirstAdmin(FIRST_ADMIN, secret)


def create_from_environment() -> FastAPI:
    """The app of one worker process, from the environment ``shipyard server`` set (uvicorn's factory)."""
    settings = Settings.load()
    return create_app(
        ServerContext(open_store(settings)),
        max_body_bytes=settings.server_max_body_mb * 1024**2,
        artifacts_direct=settings.server_artifacts_direct,
        threads=settings.server_threads,
    )


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("shipyard.server.access")
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO if level in ("info", "debug", "trace") else logging.WARNING)
    access.propagate = False


def environment_for(settings: Settings) -> dict[str, str]:
    """What a worker process needs to open the same store."""
    env = {
        "SHIPYARD_URI": settings.uri,
        "SHIPYARD_SERVER_MAX_BODY_MB": str(settings.server_max_body_mb),
        "SHIPYARD_SERVER_ARTIFACTS_DIRECT": "true" if settings.server_artifacts_direct else "false",
        "SHIPYARD_SERVER_THREADS": str(settings.server_threads),
    }
    if settings.artifacts:
        env["SHIPYARD_ARTIFACTS"] = settings.artifacts
    return env


def export(env: dict[str, str]) -> None:
    os.environ.update(env)
