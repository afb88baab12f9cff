"""Pipelines: step records (with the cache key), the dataset versions a run produced, and schedules.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_outputs",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
    )
    op.create_index("ix_run_outputs_dataset_version", "run_outputs", ["dataset_version_id"])
    op.create_table(
        "pipeline_steps",
        sa.Column("pipeline_run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
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
    )
    op.create_index("ix_pipeline_steps_cache_key", "pipeline_steps", ["cache_key"])
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_schedules_next_run", "schedules", ["next_run_at"])


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("pipeline_steps")
    op.drop_table("run_outputs")
