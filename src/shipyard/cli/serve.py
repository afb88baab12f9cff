"""``shipyard serve NAME@ALIAS``: an inference server on uvicorn, with canary or shadow and hot swap."""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated, Any

import typer

from shipyard.cli._state import open_client, stop_cleanly_on_sigterm
from shipyard.serving.worker import OPTIONS_VARIABLE, options_value


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="What to serve: NAME@ALIAS (watched for new versions) or NAME@VERSION.")],
    host: Annotated[str, typer.Option(help="The interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (each loads the model).")] = 1,
    canary: Annotated[
        str | None,
        typer.Option(help="NAME@ALIAS_OR_VERSION:PERCENT answering that share of traffic, e.g. churn@challenger:10."),
    ] = None,
    shadow: Annotated[
        str | None, typer.Option(help="NAME@ALIAS_OR_VERSION also predicting on every request; logged, never returned.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="The model's project.")] = None,
    poll: Annotated[
        float, typer.Option(min=0.05, help="Seconds between checks of the served aliases and the registry's canary.")
    ] = 5.0,
    no_registry_canary: Annotated[
        bool,
        typer.Option(
            "--no-registry-canary",
            help="Ignore canaries started through the registry (`shipyard models canary`): a fixed deployment.",
        ),
    ] = False,
    max_body_mb: Annotated[float, typer.Option(min=0.001, help="The largest request body accepted, in MB.")] = 4.0,
    max_rows: Annotated[int, typer.Option(min=1, help="The most rows one request may hold.")] = 10_000,
    max_batch_rows: Annotated[int, typer.Option(min=1, help="The most rows per call to the model.")] = 256,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not keep a prediction log.")] = False,
    log_segment_seconds: Annotated[
        float,
        typer.Option(
            min=0.1, max=86_400, help="Write the prediction log at least this often: how fresh monitors' data is."
        ),
    ] = 60.0,
    trust_unsafe: Annotated[
        bool, typer.Option("--trust-unsafe", help="Load pickle-based versions (unpickling runs their code).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "warning",
) -> None:
    """Serve a model version over HTTP: POST /predict, /feedback; GET /health, /ready, /schema, /metrics, /docs."""
    import uvicorn

    from shipyard.serving.deployment import ServeOptions, parse_canary

    canary_ref, share = parse_canary(canary) if canary else (None, 0.0)
    options = ServeOptions(
        ref=ref,
        project=project,
        canary=canary_ref,
        canary_share=share,
        shadow=shadow,
        poll_interval=poll,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_rows=max_rows,
        max_batch_rows=max_batch_rows,
        log_predictions=not no_log,
        log_segment_seconds=log_segment_seconds,
        trust_unsafe=trust_unsafe,
        follow_registry_canary=not no_registry_canary,
        load_in_child_process=True,
    )
    with open_client(ctx) as client:
        _banner(client, options)
        settings = {
            "uri": client.settings.uri,
            "artifacts": client.settings.artifacts,
            "cwd": str(client.settings.root),
        }
    os.environ[OPTIONS_VARIABLE] = options_value(dataclasses.asdict(options), settings)
    typer.echo(f"Listening on http://{host}:{port} (docs at /docs); Ctrl-C or SIGTERM stops it gracefully.", err=True)
    stop_cleanly_on_sigterm()
    uvicorn.run(
        "shipyard.serving.worker:app_from_environment",  # a worker process imports the server, not the CLI
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


def _banner(client: Any, options: Any) -> None:
    """Resolve every role before starting (an unknown version is exit 2 here) and say what is served."""
    from shipyard.core.refs import parse_ref
    from shipyard.serving.deployment import require_live_verdict

    roles = [("champion", options.ref), ("canary", options.canary), ("shadow", options.shadow)]
    for role, ref in roles:
        if ref is None:
            continue
        version = client.models.get(ref, project=options.project)
        if role != "champion":  # live traffic: refuse before starting, exit 1, rather than in the server process
            require_live_verdict(client, role, ref, version)
        share = f", {options.canary_share:.0%} of traffic" if role == "canary" else ""
        typer.echo(f"{role}: {ref} → {version.name}@{version.version}{share}", err=True)
        if role == "champion" and options.follow_registry_canary and not (options.canary or options.shadow):
            running = client.models.canary(version.name, project=version.project)
            if running is not None:
                typer.echo(f"canary: {running.ref} (from the registry), {running.share:.0%} of traffic", err=True)
    alias = parse_ref(options.ref).alias
    champion = client.models.get(options.ref, project=options.project)
    protected = client.backend.registry.protected_aliases(champion.project)
    if alias is None or alias not in protected:
        typer.secho(
            f"WARNING: {options.ref} is not a protected alias ({', '.join(sorted(protected))}), so no gate verdict "
            "vouches for what is served; /metrics reports shipyard_gate_passed 0. Serve NAME@champion in production.",
            fg="yellow",
            bold=True,
            err=True,
        )
    else:
        decision = client.backend.verdicts.decision(champion.project, champion.id)
        if not decision.allowed:
            typer.secho(
                f"WARNING: {champion.ref} holds {alias!r} but no passing verdict under the gate policy in force: "
                f"{decision.reason}. It is served, and /metrics reports shipyard_gate_passed 0 until it is gated.",
                fg="yellow",
                bold=True,
                err=True,
            )
