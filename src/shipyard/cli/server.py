"""``shipyard server``: the team server over a store (PostgreSQL + S3, or the local ./.shipyard to try it)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from shipyard.cli._state import load_settings, stop_cleanly_on_sigterm


def register(app: typer.Typer) -> None:
    app.command("server")(server)


def server(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option(help="The metadata store: postgresql+psycopg://…, sqlite:///… or a folder.")
    ] = None,
    artifacts: Annotated[str | None, typer.Option(help="The artifact store: s3://bucket/prefix or a folder.")] = None,
    host: Annotated[str, typer.Option(help="The interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the store.")] = 1,
    log_level: Annotated[str, typer.Option(help="info logs every request as JSON; warning only problems.")] = "info",
    max_body_mb: Annotated[
        int | None,
        typer.Option(min=1, max=65536, help="The largest JSON request body in MiB (default 64); blobs are apart."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, max=1024, help="Requests each worker handles at once, each on a pooled database connection (16)."
        ),
    ] = None,
    artifacts_direct: Annotated[
        bool,
        typer.Option(
            "--artifacts-direct",
            help="Hand clients short-lived presigned URLs to the object store (s3://) instead of proxying blobs.",
        ),
    ] = False,
) -> None:
    """Serve the store to a team over HTTP: /api/v1 with API tokens and per-project roles.

    With no --db the local ./.shipyard store is served on 127.0.0.1, to try team mode in one command. The
    first start creates an admin and prints its token once.
    """
    from shipyard.core.errors import MissingDependency

    try:
        import uvicorn

        from shipyard.server.context import require_presigning
        from shipyard.server.main import configure_logging, ensure_first_admin, environment_for, export, open_store
    except ImportError as missing:
        raise MissingDependency.for_extra(missing.name or "fastapi", "server", "shipyard server") from None
    from shipyard.core.actor import current_actor

    settings = load_settings(ctx)
    if db is not None or artifacts is not None:
        from shipyard.core.config import Settings

        settings = Settings.load(uri=db or settings.uri, artifacts=artifacts)
    if max_body_mb is not None:
        settings = dataclasses.replace(settings, server_max_body_mb=max_body_mb)
    if artifacts_direct:
        settings = dataclasses.replace(settings, server_artifacts_direct=True)
    if threads is not None:
        settings = dataclasses.replace(settings, server_threads=threads)
    backend = open_store(settings)
    try:
        if settings.server_artifacts_direct:
            require_presigning(backend.blobs)  # refused now, not in every worker
        first = ensure_first_admin(backend, current_actor())
    finally:
        backend.close()
    if first is not None:
        typer.echo(
            f"Created the first admin, {first.name!r}. Its API token, shown only this once:\n\n  {first.token}\n"
        )
        typer.echo(f"  export SHIPYARD_URI=http://{host}:{port} SHIPYARD_TOKEN={first.token}\n")
    export(environment_for(settings))
    configure_logging(log_level)
    stop_cleanly_on_sigterm()  # requests in flight finish, then exit 0 (not -15) for the supervisor
    mode = "direct (presigned URLs)" if settings.server_artifacts_direct else "proxied"
    typer.echo(
        f"Shipyard server on http://{host}:{port} ({workers} worker(s)) serving {settings.uri}; artifacts {mode}",
        err=True,
    )
    uvicorn.run(
        "shipyard.server.main:create_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
    )
