"""Tables of the metadata store, designed for the queries Shipyard runs.

- runs by project and time (listing, paging): ``ix_runs_project_start``
- metric history by run, key and step: ``ix_metrics_history`` (covering, so reads never touch the table)
- the latest value per run and metric key, kept on write, so a metric filter or sort in search is one
  indexed join instead of a scan of the history: ``latest_metrics`` and ``ix_latest_metrics_key_value``
- which runs refer to a blob (garbage collection): ``ix_run_artifacts_digest``
- lineage both ways: what a model version was trained on (``model_version_datasets``), which versions and
  runs used a dataset version (``ix_model_version_datasets_dataset``, ``ix_run_inputs_dataset_version``)
- a dataset registered twice is one version: ``uq_dataset_versions_digest``

A metric value of NaN is stored as NULL (SQLite cannot store NaN); ±inf are stored as they are.
Schema changes go through Alembic migrations in ``migrations/versions``; a test checks that the
migrated database matches these tables exactly.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (and so autoincrementing).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("parent_id", sa.String(32), nullable=True),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("heartbeat_at", sa.BigInteger, nullable=False),
    sa.Column("host", sa.String(255), nullable=False, server_default=""),
    sa.Column("pid", sa.Integer, nullable=False, server_default="0"),
    sa.Column("environment", sa.Text, nullable=False, server_default="{}"),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_runs_project_start", "project_id", "start_time"),
    sa.Index("ix_runs_parent", "parent_id"),
)


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.id", ondelete="CASCADE")


params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # No foreign key: checking it costs a lookup per point; a write locks its run once instead (see
    # ``SqlStore._require_writable`` and ``purge_deleted_runs``, and migration 0012).
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    # Covering: a history read is an index-only scan already in step order.
    sa.Index("ix_metrics_history", "run_id", "key", "step", "timestamp", "value"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Index("ix_run_artifacts_digest", "digest"),
)

# Dataset versions and the model registry (revision 0002) ---------------------------------------------


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


datasets = sa.Table(
    "datasets",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_datasets_project_name"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    _id(),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("blob_digest", sa.String(71), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.Text, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_number"),
    sa.UniqueConstraint("dataset_id", "digest", name="uq_dataset_versions_digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Index("ix_run_inputs_dataset_version", "dataset_version_id"),
)

registered_models = sa.Table(
    "registered_models",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_registered_models_project_name"),
)

# A model version keeps its run id even after the run is purged: lineage then says the run is gone.
model_versions = sa.Table(
    "model_versions",
    metadata,
    _id(),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("artifact_digest", sa.String(71), nullable=False),
    sa.Column("package", sa.Text, nullable=False),
    sa.Column("unsafe_format", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("model_id", "version", name="uq_model_versions_number"),
    sa.Index("ix_model_versions_run", "run_id"),
)


def _version_fk() -> sa.ForeignKey:
    return sa.ForeignKey("model_versions.id", ondelete="CASCADE")


model_version_files = sa.Table(
    "model_version_files",
    metadata,
    sa.Column("model_version_id", sa.Integer, _version_fk(), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Index("ix_model_version_files_digest", "digest"),
)

model_version_datasets = sa.Table(
    "model_version_datasets",
    metadata,
    sa.Column("model_version_id", sa.Integer, _version_fk(), primary_key=True),
    sa.Column("dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Index("ix_model_version_datasets_dataset", "dataset_version_id"),
)

model_version_parents = sa.Table(
    "model_version_parents",
    metadata,
    sa.Column("model_version_id", sa.Integer, _version_fk(), primary_key=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("model_versions.id"), primary_key=True),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("model_version_id", sa.Integer, _version_fk(), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("alias", sa.String(250), primary_key=True),
    sa.Column("model_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(250), nullable=False),
    sa.Index("ix_model_aliases_version", "model_version_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(250), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=True),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Index("ix_audit_events_project_at", "project_id", "at"),
    sa.Index("ix_audit_events_subject", "subject"),
)

# The release gate (revision 0003) ---------------------------------------------------------------------

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("model_version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("model_digest", sa.String(71), nullable=False),
    sa.Column("policy_digest", sa.String(71), nullable=False),
    sa.Column("data_digest", sa.String(71), nullable=False),
    sa.Column("dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), nullable=False),
    sa.Column("shipyard_version", sa.String(32), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("report_digest", sa.String(71), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Index("ix_verdicts_version_policy", "model_version_id", "policy_digest"),
)

# An admin's override of the gate is marked on the version for good (revision 0003).
model_versions.append_column(sa.Column("gate_override", sa.Text, nullable=True))

# Pipelines (revision 0004) -------------------------------------------------------------------------------

# The dataset versions a run produced (a pipeline step's table outputs): lineage walks from a model's
# training data back to the step that wrote it, and from there to that step's own inputs.
run_outputs = sa.Table(
    "run_outputs",
    metadata,
    sa.Column("run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Index("ix_run_outputs_dataset_version", "dataset_version_id"),
)

# One row per node of a pipeline run, written before anything runs so that `pipeline show` draws the whole
# DAG. ``run_id`` is the step's own run, or for a cache hit the run that produced the reused outputs.
# A cache lookup is one indexed probe on ``cache_key``.
pipeline_steps = sa.Table(
    "pipeline_steps",
    metadata,
    sa.Column("pipeline_run_id", sa.String(32), _run_fk(), primary_key=True),
    sa.Column("node", sa.String(250), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("step", sa.String(250), nullable=False),
    sa.Column("upstream", sa.Text, nullable=False, server_default="[]"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("cache_key", sa.String(71), nullable=True),
    sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("outputs", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", sa.BigInteger, nullable=True),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
    sa.Index("ix_pipeline_steps_cache_key", "cache_key"),
)

# Cron schedules. A scheduler claims a due schedule by taking its lease in one conditional UPDATE, so two
# schedulers never start the same schedule twice; ``next_run_at`` is computed from the time of the claim,
# so after downtime a schedule catches up once, not once per missed tick.
schedules = sa.Table(
    "schedules",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("cron", sa.String(120), nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("options", sa.Text, nullable=False, server_default="{}"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", sa.BigInteger, nullable=False),
    sa.Column("last_run_at", sa.BigInteger, nullable=True),
    sa.Column("last_run_id", sa.String(32), nullable=True),
    sa.Column("last_status", sa.String(16), nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_schedules_project_name"),
    sa.Index("ix_schedules_next_run", "next_run_at"),
)

# Prediction logs (revision 0005) ---------------------------------------------------------------------------

# What a deployment answered (kind "predictions") and the ground truth that came later ("feedback") live in the
# artifact store as Parquet segments; this table indexes them. A read of the rows since a time touches only the
# segments whose last row is that new: one range scan of ``ix_prediction_segments_window``. ``model`` is the
# registered model's name, not a foreign key: a log outlives the versions it mentions, and serving never waits
# on the registry to log. ``versions`` is the JSON list of the model versions that answered in the segment.
prediction_segments = sa.Table(
    "prediction_segments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("blob_digest", sa.String(71), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("first_at", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.BigInteger, nullable=False),
    sa.Column("versions", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_prediction_segments_window", "project_id", "model", "kind", "last_at"),
)

# Monitoring. A drift reference (the summary of a training dataset, or of a model's predictions on it) is a
# blob; ``drift_references`` maps its key to the blob so it is computed once. ``monitor_windows`` holds every
# evaluated window of a monitor (its results as JSON, for charts), unique per monitor and window, so
# evaluating a window twice keeps one row. ``alerts``: at most one unresolved alert per monitor and rule
# (``uq_alerts_open``, a partial unique index both databases support), which is what deduplicates them.
drift_references = sa.Table(
    "drift_references",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("blob_digest", sa.String(71), nullable=False),
    sa.Column("format", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("monitor", sa.String(250), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("start_at", sa.BigInteger, nullable=False),
    sa.Column("end_at", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("results", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("project_id", "monitor", "start_at", "end_at", name="uq_monitor_windows_window"),
    sa.Index("ix_monitor_windows_end", "project_id", "monitor", "end_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("monitor", sa.String(250), nullable=False),
    sa.Column("rule", sa.String(250), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.Column("windows", sa.Integer, nullable=False, server_default="1"),
    sa.Column("opened_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Column("acknowledged_by", sa.String(250), nullable=True),
    sa.Column("notify_state", sa.String(16), nullable=False, server_default="none"),
    sa.Column("notify_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("notify_error", sa.Text, nullable=True),
    sa.Index("ix_alerts_state", "project_id", "state", "opened_at"),
    sa.Index(
        "uq_alerts_open",
        "project_id",
        "monitor",
        "rule",
        unique=True,
        sqlite_where=sa.text("state != 'resolved'"),
        postgresql_where=sa.text("state != 'resolved'"),
    ),
)

# Canaries (revision 0007). A canary sends a share of a model's traffic, on every server of the model, to one of
# its versions, until someone (or the retraining loop) ends it as promoted, rolled back or stopped. Rows are kept
# as the history. ``uq_canaries_running`` (a partial unique index, as ``uq_alerts_open``) allows one running
# canary per model, so two starts racing cannot both win; ``ix_canaries_model`` serves the history, newest first.
canaries = sa.Table(
    "canaries",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("share", sa.Double, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("end_reason", sa.Text, nullable=True),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
    sa.Column("started_by", sa.String(250), nullable=False),
    sa.Column("ended_by", sa.String(250), nullable=True),
    sa.Index("ix_canaries_model", "project_id", "model", "started_at"),
    sa.Index(
        "uq_canaries_running",
        "project_id",
        "model",
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    ),
)

# Retraining loops (revision 0008): one row per loop of the monitoring's closed loop, moved step by step
# (``store/loops.py``). ``uq_retrain_loops_active`` allows one unfinished loop per model.
retrain_loops = sa.Table(
    "retrain_loops",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("monitor", sa.String(250), nullable=False),
    sa.Column("alert_id", sa.Integer, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("champion_version", sa.Integer, nullable=True),
    sa.Column("baseline_version", sa.Integer, nullable=False),
    sa.Column("pipeline_run_id", sa.String(32), nullable=True),
    sa.Column("candidate_version", sa.Integer, nullable=True),
    sa.Column("canary_started_at", sa.BigInteger, nullable=True),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
    sa.Column("history", sa.Text, nullable=False, server_default="[]"),
    sa.Index("ix_retrain_loops_model", "project_id", "model", "started_at"),
    sa.Index(
        "uq_retrain_loops_active",
        "project_id",
        "model",
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
)

# The gate kept in the store (revision 0009) -----------------------------------------------------------------

# The gate policy in force, per project: the newest version is the one enforced. ``body`` is the parsed
# ``[gate]`` table as canonical JSON and ``digest`` is computed by the store from it, never taken from a caller.
gate_policies = sa.Table(
    "gate_policies",
    metadata,
    _id(),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("implicit", sa.Boolean, nullable=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
    sa.Column("applied_by", sa.String(250), nullable=False),
    sa.UniqueConstraint("project_id", "version", name="uq_gate_policies_version"),
)

# The audit log is a hash chain: each event carries its place (``seq``, gap-free), the hash of the event
# before it and its own hash; ``audit_chain`` (one row) holds the newest link, so that deleting the newest
# events shows too.
audit_events.append_column(sa.Column("seq", sa.BigInteger, nullable=True))
audit_events.append_column(sa.Column("prev_hash", sa.String(71), nullable=True))
audit_events.append_column(sa.Column("hash", sa.String(71), nullable=True))
sa.Index("uq_audit_events_seq", audit_events.c.seq, unique=True)

audit_chain = sa.Table(
    "audit_chain",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(71), nullable=False),
)

# What allowed an alias to point where it does: ``verdict:<id>``, ``override:<audit seq>``, ``promotion``
# (previous-champion) or ``unprotected``; ``shipyard audit verify`` checks it against the log.
model_aliases.append_column(sa.Column("authorized_by", sa.Text, nullable=True))

# A verdict is binding only when the store found it made under the policy in force, on the evaluation data
# that policy requires; any other verdict is a preview that can never open a protected alias.
verdicts.append_column(sa.Column("binding", sa.Boolean, nullable=False, server_default=sa.false()))

# Accounts of a team server (revision 0010) ----------------------------------------------------------------

# A user's password is kept only as an argon2id hash; ``disabled_at`` stops their tokens and logins at once.
users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("disabled_at", sa.BigInteger, nullable=True),
)

# An API token is kept as the sha256 of its secret (``secret_hash``, the one lookup of every request, so
# unique and indexed); ``prefix`` is the secret's first 8 characters after ``sy_``, to tell tokens apart.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False, server_default=""),
    sa.Column("prefix", sa.String(8), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=True),
    sa.Column("last_used_at", sa.BigInteger, nullable=True),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    sa.Index("ix_api_tokens_user", "user_id"),
)

# A user's role in a project; a caller's roles are read by user on every request (``ix_project_members_user``).
project_members = sa.Table(
    "project_members",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_project_members_user", "user_id"),
)

# Login attempts not (yet) known to have succeeded, by the user name given (known or not); kept in the
# database so that every server replica counts the same ones. A success deletes its name's rows.
login_failures = sa.Table(
    "login_failures",
    metadata,
    _id(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_login_failures_name_at", "name", "at"),
    sa.Index("ix_login_failures_at", "at"),
)

# Idempotency keys of a team server (revision 0011) ------------------------------------------------------------

# One row per (key, user) of a write the server took: while it runs ``status`` is NULL (a duplicate is told
# to retry); once it answered, the answer is kept so that a retry is answered again, not done again. Rows
# older than a day are pruned (``ix_idempotency_keys_created``).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("user_name", sa.String(64), primary_key=True),
    sa.Column("operation", sa.String(100), nullable=False),
    sa.Column("request_digest", sa.String(71), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_idempotency_keys_created", "created_at"),
)
