"""Retraining loops of the monitoring's closed loop.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retrain_loops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_retrain_loops_model", "retrain_loops", ["project_id", "model", "started_at"])
    op.create_index(
        "uq_retrain_loops_active",
        "retrain_loops",
        ["project_id", "model"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("retrain_loops")
