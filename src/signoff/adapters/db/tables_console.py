"""The console's own storage: server-side sign-in sessions (same ``metadata`` as the core),
and an index on ``actions`` for the post-action review counter.

Only a SHA-256 of the session id is stored: whoever reads the table cannot sign in as anyone.
"""

from __future__ import annotations

import sqlalchemy as sa

from signoff.adapters.db.tables import UtcDateTime, actions, metadata

__all__ = ["console_sessions"]

console_sessions = sa.Table(
    "console_sessions", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("auth_method", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False, default=""),
    sa.Column("user_agent", sa.String(300), nullable=False, default=""),
)

# The post-action review counter on every inbox page: an index, not a scan of all actions.
sa.Index("ix_actions_post_review_open", actions.c.post_review, actions.c.post_review_verdict)
