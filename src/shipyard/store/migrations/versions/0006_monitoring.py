"""Monitoring: drift references, evaluated windows and alerts.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_references",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("blob_digest", sa.String(71), nullable=False),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "monitor_windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_monitor_windows_end", "monitor_windows", ["project_id", "monitor", "end_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_alerts_state", "alerts", ["project_id", "state", "opened_at"])
    op.create_index(
        "uq_alerts_open",
        "alerts",
        ["project_id", "monitor", "rule"],
        unique=True,
        sqlite_where=sa.text("state != 'resolved'"),
        postgresql_where=sa.text("state != 'resolved'"),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("monitor_windows")
    op.drop_table("drift_references")
