"""console: server-side sign-in sessions, index for the post-action review queue

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signoff.adapters.db.tables as t

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("auth_method", sa.String(length=20), nullable=False),
        sa.Column("created_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", t.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_console_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"],
                              unique=False)
    op.create_index("ix_actions_post_review_open", "actions",
                    ["post_review", "post_review_verdict"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_actions_post_review_open", table_name="actions")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))
    op.drop_table("console_sessions")
