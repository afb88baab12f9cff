"""Prediction logs: the index of the Parquet segments that hold what deployments answered, and feedback.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prediction_segments",
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
    )
    op.create_index("ix_prediction_segments_window", "prediction_segments", ["project_id", "model", "kind", "last_at"])


def downgrade() -> None:
    op.drop_table("prediction_segments")
