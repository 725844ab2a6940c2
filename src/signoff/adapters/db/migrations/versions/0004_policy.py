"""policy: just-in-time agent elevations

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signoff.adapters.db.tables as t

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_elevations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=40), nullable=False),
        sa.Column("workflows", t.Json, nullable=False),
        sa.Column("kinds", t.Json, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column("starts_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", t.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("ended_at", t.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"],
                                name=op.f("fk_agent_elevations_agent_id_agents")),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"],
                                name=op.f("fk_agent_elevations_action_id_actions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_elevations")),
        sa.UniqueConstraint("action_id", name=op.f("uq_agent_elevations_action_id")),
    )
    with op.batch_alter_table("agent_elevations", schema=None) as batch_op:
        batch_op.create_index("ix_agent_elevations_agent_ends", ["agent_id", "ends_at"],
                              unique=False)
        batch_op.create_index("ix_agent_elevations_open_ends", ["ended_at", "ends_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_elevations", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_elevations_open_ends")
        batch_op.drop_index("ix_agent_elevations_agent_ends")
    op.drop_table("agent_elevations")
