"""``shipyard monitor run|watch|windows|alerts|ack|resolve|report``: monitors of ``[[monitor]]`` in shipyard.toml.

``monitor run`` evaluates every complete window not evaluated yet and exits 1 when a rule fired (an alert
was opened or grew), so it can run from cron; ``monitor watch`` does the same every ``--interval`` seconds
until interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._output import console, fmt_time, print_json, table, text
from shipyard.cli._state import INT_MAX, WEEK, open_client, require_project
from shipyard.core.actor import current_actor
from shipyard.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from shipyard.core.entities import Alert
    from shipyard.monitoring.service import Monitoring, MonitorOutcome
    from shipyard.tracking import Client

app = typer.Typer(help="Watch served models: drift, data quality, live metrics; alerts.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="A TOML file with [[monitor]] tables (default: shipyard.toml).", show_default=False),
]
ProjectOption = Annotated[
    str | None, typer.Option("--project", "-p", help="The project (default: the configured one).", show_default=False)
]
AlertId = Annotated[int, typer.Argument(help="The alert's id.", min=1, max=INT_MAX)]
STATE_STYLES = {"open": "bold red", "acknowledged": "yellow", "resolved": "green"}
LOOP_STYLES = {"promoted": "green", "rolled_back": "yellow", "blocked": "bold red", "failed": "bold red"}
WINDOW_STYLES = {"fail": "bold red", "pass": "green", "insufficient_data": "dim"}


def _monitoring(client: Client, config: Path | None) -> Monitoring:
    from shipyard.monitoring.service import Monitoring

    monitoring = Monitoring.from_config(client, config)
    if not monitoring.monitors:
        where = config or client.settings.root / "shipyard.toml"
        raise InvalidInput(f"{where} declares no [[monitor]] tables; add one (see docs/monitoring.md).")
    return monitoring


@app.command("run")
def run(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Monitors to evaluate (default: all).")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate the due windows of the monitors once; exit 1 if a rule fired."""
    with open_client(ctx) as client:
        outcomes = _monitoring(client, config).run(names or None)
    if as_json:
        print_json([o.to_dict() for o in outcomes])
    else:
        for outcome in outcomes:
            _print_outcome(outcome)
    if any(o.firing for o in outcomes):
        raise typer.Exit(1)


@app.command("watch")
def watch(
    ctx: typer.Context,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, max=WEEK, help="Seconds between evaluations (at most a week).")
    ] = 60.0,
    config: ConfigOption = None,
) -> None:
    """Evaluate the monitors every --interval seconds until interrupted (Ctrl-C or SIGTERM)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_client(ctx) as client:
        monitoring = _monitoring(client, config)
        typer.echo(f"Watching {', '.join(m.name for m in monitoring.monitors)} every {interval:g} s.")
        with contextlib.suppress(KeyboardInterrupt):
            monitoring.watch(interval, stop, _print_quietly)
    typer.echo("Stopped watching.")


def _print_quietly(outcomes: list[MonitorOutcome]) -> None:
    for outcome in outcomes:
        _print_outcome(outcome, quiet=True)


@app.command("windows")
def windows(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT_MAX, help="The latest windows to show.")] = 20,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The latest evaluated windows of a monitor, with each rule's outcome."""
    with open_client(ctx) as client:
        monitoring = _monitoring(client, config)
        spec = monitoring.get(name)
        project = client.models.get(spec.model, project=spec.project).project
        found = client.backend.monitors.windows(project, spec.name, limit=limit)
    if as_json:
        print_json([w.__dict__ for w in found])
        return
    grid = table("window start (UTC)", "end", "rows", "status", "rules", title=f"{spec.name}: {spec.model}")
    for window in found:
        rules = window.results.get("rules", {})
        summary = "; ".join(f"{n}: {r.get('message', '')}" for n, r in rules.items())
        grid.add_row(
            fmt_time(window.start_at),
            fmt_time(window.end_at),
            f"{window.rows:,}",
            text(window.status, WINDOW_STYLES.get(window.status, "")),
            summary,
        )
    console().print(grid if found else f"{spec.name}: no window evaluated yet; run `shipyard monitor run`.")


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    state: Annotated[
        list[str] | None, typer.Option("--state", help="open, acknowledged or resolved; repeat for more.")
    ] = None,
    monitor: Annotated[str | None, typer.Option("--monitor", help="Only this monitor's alerts.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT_MAX)] = 50,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Alerts, newest first (unresolved ones unless --state says otherwise)."""
    states = tuple(state) if state else ("open", "acknowledged")
    with open_client(ctx) as client:
        found = client.backend.monitors.alerts(
            project or client.settings.project, states=states, monitor=monitor, limit=limit
        )
    if as_json:
        print_json([a.to_dict() for a in found])
        return
    if not found:
        typer.echo(f"No {' or '.join(states)} alerts.")
        return
    grid = table("id", "state", "monitor", "rule", "windows", "opened (UTC)", "message", "webhook")
    for alert in found:
        grid.add_row(
            str(alert.id),
            text(alert.state, STATE_STYLES.get(alert.state, "")),
            alert.monitor,
            alert.rule,
            str(alert.windows),
            fmt_time(alert.opened_at),
            alert.message,
            _delivery(alert),
        )
    console().print(grid)


@app.command("ack")
def ack(ctx: typer.Context, alert_id: AlertId) -> None:
    """Acknowledge an alert: known, being handled (it stays until its rule passes or it is resolved)."""
    _set_state(ctx, alert_id, "acknowledged")


@app.command("resolve")
def resolve(ctx: typer.Context, alert_id: AlertId) -> None:
    """Resolve an alert by hand; a later failure of its rule opens a new one."""
    _set_state(ctx, alert_id, "resolved")


@app.command("report")
def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The monitor.")],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the HTML report here (default: monitor-NAME.html).", show_default=False),
    ] = None,
    last: Annotated[
        int, typer.Option("--last", min=1, max=INT_MAX, help="How many of the latest windows to cover.")
    ] = 168,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write an offline HTML report of a monitor's latest windows: drift per column over time, alerts."""
    from shipyard.monitoring.report import build_report, render_html

    with open_client(ctx) as client:
        spec = _monitoring(client, config).get(name)
        project = client.models.get(spec.model, project=spec.project).project
        found = client.backend.monitors.windows(project, spec.name, limit=last)
        alerts = client.backend.monitors.alerts(project, monitor=spec.name, limit=max(100, last))
    path = html or Path(f"monitor-{spec.name}.html")
    try:
        path.write_text(render_html(spec, found, alerts), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write the report to {path}: {exc.strerror}. Pass --html PATH to a writable place."
        ) from None
    if as_json:
        print_json({**build_report(spec, found, alerts), "report_path": str(path)})
    else:
        typer.echo(str(path))  # the path alone, so that `open "$(shipyard monitor report …)"` works


def _set_state(ctx: typer.Context, alert_id: int, state: str) -> None:
    with open_client(ctx) as client:
        alert = client.backend.monitors.set_state(alert_id, state, by=current_actor())
    typer.echo(f"Alert {alert.id} ({alert.monitor}: {alert.rule}) is {alert.state}.")


def _delivery(alert: Alert) -> str:
    if alert.notify_state == "failed":
        return f"failed after {alert.notify_attempts}: {alert.notify_error}"
    return alert.notify_state


def _print_outcome(outcome: MonitorOutcome, *, quiet: bool = False) -> None:
    if not outcome.windows and not quiet:
        typer.echo(f"{outcome.monitor}: no complete window to evaluate yet.")
    for window in outcome.windows:
        head = f"{outcome.monitor} [{fmt_time(window.start_at)} – {fmt_time(window.end_at)}, {window.rows:,} rows]"
        typer.echo(f"{head}: {window.status}")
        for result in window.rules:
            fired = "  ALERT" if result.rule in window.fired else ""
            typer.echo(f"  {result.rule}: {result.status} — {result.message}{fired}")
    for alert in outcome.opened:
        typer.echo(f"  opened alert {alert.id}: {alert.message}")
    for alert in outcome.resolved:
        typer.echo(f"  resolved alert {alert.id} ({alert.rule})")
    for loop in outcome.loops:
        typer.echo(f"  retraining loop {loop.id}: {loop.state} — {loop.message}")


@app.command("loops")
def loops(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="Only this model's loops.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT_MAX)] = 20,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retraining loops, newest first: each step, the candidate version and how it ended."""
    with open_client(ctx) as client:
        if project is not None:
            require_project(client, project)
        where = project or client.settings.project
        if model is not None:
            _require_model(client, model, where)
        found = client.backend.loops.loops(where, model=model, limit=limit)
    if as_json:
        print_json([loop.to_dict() for loop in found])
        return
    if not found:
        typer.echo("No retraining loop yet (they start from alerts of monitors with [monitor.on_alert] retrain).")
        return
    grid = table("id", "model", "state", "candidate", "started (UTC)", "message")
    for loop in found:
        style = LOOP_STYLES.get(loop.state, "")
        candidate = "—" if loop.candidate_version is None else f"{loop.model}@{loop.candidate_version}"
        grid.add_row(
            str(loop.id), loop.model, text(loop.state, style), candidate, fmt_time(loop.started_at), loop.message
        )
    console().print(grid)


def _require_model(client: Client, name: str, project: str) -> None:
    """``NotFound`` naming the project's models unless ``name`` is one: a typo must not read as "no loop yet"."""
    import difflib

    known = sorted(found.name for found in client.models.list(project))
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        listing = ", ".join(known) or "none"
        raise NotFound(f"No registered model named {name!r} in project {project!r}. {hint}Models there: {listing}.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="monitor")
