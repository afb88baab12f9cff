"""The gate kept in the store: policies in force, a hash-chained audit log, what authorised each alias,
and which verdicts are binding.

Existing audit events are chained in the order they were written. Existing verdicts are previews: they
were made before the store knew the policy in force or its evaluation data, so versions are gated again
under the policy first applied after the upgrade.

Revision ID: 0009
Revises: 0008
"""

import json

import sqlalchemy as sa
from alembic import op

from shipyard.store.audit import GENESIS, event_hash

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_policies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(71), nullable=False),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(71), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(71), nullable=True))
        batch.create_index("uq_audit_events_seq", ["seq"], unique=True)
    with op.batch_alter_table("model_aliases") as batch:
        batch.add_column(sa.Column("authorized_by", sa.Text, nullable=True))
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("binding", sa.Boolean, nullable=False, server_default=sa.false()))
    _chain_existing_events()


def _chain_existing_events() -> None:
    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id"),
        sa.column("at"),
        sa.column("actor"),
        sa.column("action"),
        sa.column("project_id"),
        sa.column("subject"),
        sa.column("details"),
        sa.column("seq"),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    previous, seq = GENESIS, 0
    query = sa.select(
        events.c.id,
        events.c.at,
        events.c.actor,
        events.c.action,
        events.c.project_id,
        events.c.subject,
        events.c.details,
    )
    for row in conn.execute(query.order_by(events.c.id)).all():
        seq += 1
        digest = event_hash(previous, seq, row.at, row.actor, row.action, row.project_id, row.subject, row.details)
        conn.execute(events.update().where(events.c.id == row.id).values(seq=seq, prev_hash=previous, hash=digest))
        previous = digest
    # Verdicts written before the chain existed enter it now, as the previews they have become.
    old = sa.table("verdicts", sa.column("id"), sa.column("passed"), sa.column("created_at"), sa.column("created_by"))
    for row in conn.execute(sa.select(old).order_by(old.c.created_at, old.c.id)).all():
        seq += 1
        details = json.dumps(
            {"binding": False, "migrated": True, "passed": bool(row.passed), "verdict_id": row.id}, sort_keys=True
        )
        digest = event_hash(previous, seq, row.created_at, row.created_by, "gate.verdict", None, "verdict", details)
        conn.execute(
            events.insert().values(
                at=row.created_at,
                actor=row.created_by,
                action="gate.verdict",
                project_id=None,
                subject="verdict",
                details=details,
                seq=seq,
                prev_hash=previous,
                hash=digest,
            )
        )
        previous = digest
    chain = sa.table("audit_chain", sa.column("id"), sa.column("seq"), sa.column("hash"))
    conn.execute(chain.insert().values(id=1, seq=seq, hash=previous))


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("binding")
    with op.batch_alter_table("model_aliases") as batch:
        batch.drop_column("authorized_by")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("uq_audit_events_seq")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    op.drop_table("audit_chain")
    op.drop_table("gate_policies")
