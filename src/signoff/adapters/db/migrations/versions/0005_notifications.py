"""notifications: the outbox of messages to people (e-mail, webhook)

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signoff.adapters.db.tables as t

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=40), nullable=False),
        sa.Column("workflow", sa.String(length=200), nullable=False),
        sa.Column("recipient_id", sa.String(length=40), nullable=False),
        sa.Column("data", t.Json, nullable=False),
        sa.Column("created_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claim", sa.String(length=40), nullable=True),
        sa.Column("channels_done", t.Json, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("settled_at", t.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"],
                                name=op.f("fk_notification_outbox_action_id_actions")),
        sa.ForeignKeyConstraint(["recipient_id"], ["users.id"],
                                name=op.f("fk_notification_outbox_recipient_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("event", "action_id", "recipient_id",
                            name="uq_notification_outbox_once"),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_due", ["state", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_notification_outbox_recipient", ["recipient_id", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox_recipient")
        batch_op.drop_index("ix_notification_outbox_due")
    op.drop_table("notification_outbox")
