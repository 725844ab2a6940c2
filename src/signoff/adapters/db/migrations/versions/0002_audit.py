"""audit: signed checkpoints, archive anchors, filter indexes

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signoff.adapters.db.tables as t

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", _Seq, autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_anchors",
        sa.Column("seq", _Seq, autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("first_seq", _Seq, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("archive_name", sa.Text(), nullable=False),
        sa.Column("archive_sha256", sa.String(length=64), nullable=False),
        sa.Column("kid", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_anchors")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_agent_seq", ["agent_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_workflow_seq", ["workflow", "seq"], unique=False)
        batch_op.create_index("ix_audit_actor_seq", ["actor", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_actor_seq")
        batch_op.drop_index("ix_audit_workflow_seq")
        batch_op.drop_index("ix_audit_agent_seq")
    op.drop_table("audit_anchors")
    op.drop_table("audit_checkpoints")
