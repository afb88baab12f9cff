"""Keeping a store in shape: ``shipyard init``, ``shipyard gc`` and ``shipyard db upgrade|current``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._output import fmt_bytes, fmt_seconds, plural, print_json
from shipyard.cli._state import existing_store, is_server, load_settings, local_store_only, open_client, redact
from shipyard.core.config import CONFIG_FILE
from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    from shipyard.core.config import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

STARTER_CONFIG = """\
# Shipyard settings for this project. Every key is optional; SHIPYARD_* environment variables override them.

[shipyard]
# uri = ".shipyard"                    # or "sqlite:///path/shipyard.db", "postgresql+psycopg://user@host/db"
# artifacts = ".shipyard/artifacts"    # or "s3://bucket/prefix"
# project = "default"                  # the project runs go to when none is named
# gc_grace = 3600                      # seconds a deleted run or unreferenced blob is kept before `shipyard gc`

[gate]
# Aliases that a model version can only take with a passing verdict from the checks below.
protected_aliases = ["champion"]

# [[gate.checks]]
# kind = "min_metric"
# metric = "roc_auc"
# threshold = 0.80
"""


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("gc")(gc)
    app.add_typer(db_app, name="db")


def init(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="The project folder; created if missing.", file_okay=False, resolve_path=True)
    ] = Path(),
    as_json: JsonOption = False,
) -> None:
    """Create a store (.shipyard/) and a starter shipyard.toml in PATH; safe to run again."""
    if is_server(load_settings(ctx)):
        local_store_only(load_settings(ctx), "init")
    config = path / CONFIG_FILE
    config_created = not config.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        if config_created:
            config.write_text(STARTER_CONFIG, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot write {config}: {exc.strerror}. Choose a folder you can write to.") from exc
    # Read settings only now, so the project root is PATH even when a folder above it holds a shipyard.toml.
    settings = load_settings(ctx, cwd=path)
    before, after, artifacts = _migrate(settings)
    if as_json:
        print_json(
            {
                "root": str(path),
                "store": {
                    "uri": redact(settings.uri),
                    "artifacts": redact(artifacts),
                    "created": before is None,
                    "revision_before": before,
                    "revision": after,
                },
                "config": {"path": str(config), "created": config_created},
            }
        )
        return
    store = redact(settings.uri)
    if before is None:
        typer.echo(f"Created the store {store} (schema {after}).")
    elif before != after:
        typer.echo(f"Upgraded the store {store} from schema {before} to {after}.")
    else:
        typer.echo(f"The store {store} already exists (schema {after}); left as it is.")
    typer.echo(f"Created {config}." if config_created else f"Kept the existing {config}.")
    typer.echo("Next: log a run with shipyard.start_run(), then see it with `shipyard runs list`.")


MAX_GRACE = 10 * 365 * 24 * 3600
"""The longest ``--grace``, ten years in seconds: longer is surely a mistake, and an infinite one (``1e400``)
cannot be taken from a date."""


def _grace_seconds(text: str) -> float:
    # Not Typer's float with min/max: that takes "1e400" as inf, and refuses "nan" as "not >= 0".
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_GRACE:  # also False for NaN
        raise typer.BadParameter(f"a grace period is 0 to {MAX_GRACE:,} seconds (10 years); got {text!r}.")
    return seconds


def gc(
    ctx: typer.Context,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            parser=_grace_seconds,
            metavar="SECONDS",
            help=f"Seconds to keep deleted runs and unreferenced blobs, 0 to {MAX_GRACE} (10 years); "
            "default: the gc_grace setting, 1 hour.",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be removed; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Purge runs deleted longer ago than the grace period, then the artifact blobs no run refers to."""
    with open_client(ctx) as client:
        report = client.gc(grace=grace, dry_run=dry_run)
        grace = client.settings.gc_grace if grace is None else grace
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "grace": grace,
                "purged_runs": len(report.purged_runs),
                "removed_blobs": len(report.removed),
                "freed_bytes": report.freed_bytes,
                "trashed_bytes": report.trashed_bytes,
                "kept_blobs": report.kept,
                "runs": report.purged_runs,
                "removed": report.removed,
                "restored": report.restored,
            }
        )
        return
    runs = plural(len(report.purged_runs), "deleted run")
    blobs = plural(len(report.removed), "unreferenced blob")
    if dry_run:
        size = fmt_bytes(report.freed_bytes + report.trashed_bytes)
        typer.echo(f"Would purge {runs} (deleted more than {fmt_seconds(grace)} ago).")
        typer.echo(f"Would remove {blobs}, freeing {size}; {report.kept} kept.")
        typer.echo(f"Nothing was changed (dry run; grace period {fmt_seconds(grace)}).")
        return
    typer.echo(f"Purged {runs} (deleted more than {fmt_seconds(grace)} ago).")
    typer.echo(f"Removed {blobs}, freed {fmt_bytes(report.freed_bytes)}; {report.kept} kept.")
    if report.trashed_bytes:
        typer.echo(
            f"{fmt_bytes(report.trashed_bytes)} of removed blobs wait in the artifact store's trash; "
            f"a gc run {fmt_seconds(grace)} or more from now frees them."
        )
    if report.restored:
        typer.echo(f"Restored {plural(len(report.restored), 'blob')} from the trash: something refers to them again.")


# db ---------------------------------------------------------------------------------------------------

db_app = typer.Typer(help="The metadata store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Bring the store's schema to the revision this Shipyard needs (back up the database first)."""
    settings = load_settings(ctx)
    local_store_only(settings, "db upgrade")
    existing_store(settings, need_artifacts=False)  # the schema is the database's alone
    before, after, _ = _migrate(settings)
    if as_json:
        print_json({"uri": redact(settings.uri), "from": before, "to": after})
    elif before == after:
        typer.echo(f"The schema is already at revision {after}, the latest; nothing to do.")
    else:
        typer.echo(f"Upgraded the schema from revision {before or 'none'} to {after}.")


@db_app.command("current")
def db_current(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the store's schema revision, and whether it is the one this Shipyard needs."""
    from shipyard.backends.schema import HEAD_REVISION, schema_revision

    settings = load_settings(ctx)
    local_store_only(settings, "db current")
    existing_store(settings, need_artifacts=False)  # the schema is the database's alone
    revision = schema_revision(settings)
    if as_json:
        print_json(
            {
                "uri": redact(settings.uri),
                "revision": revision,
                "head": HEAD_REVISION,
                "up_to_date": revision == HEAD_REVISION,
            }
        )
    elif revision == HEAD_REVISION:
        typer.echo(f"{revision} (latest)")
    elif revision is None or revision < HEAD_REVISION:
        typer.echo(f"{revision or 'none'} (this Shipyard needs {HEAD_REVISION}; run `shipyard db upgrade`)")
    else:
        typer.echo(f"{revision} (newer than this Shipyard's {HEAD_REVISION}; pip install --upgrade shipyard)")


def _migrate(settings: Settings) -> tuple[str | None, str | None, str]:
    """Upgrade the schema to the latest revision: (revision before, revision after, artifact store)."""
    from shipyard.backends.schema import upgrade_schema

    return upgrade_schema(settings)
