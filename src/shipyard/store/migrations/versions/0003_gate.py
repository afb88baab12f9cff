"""The release gate: verdicts, and the override mark on model versions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
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
    )
    op.create_index("ix_verdicts_version_policy", "verdicts", ["model_version_id", "policy_digest"])
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("gate_override", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("gate_override")
    op.drop_table("verdicts")
