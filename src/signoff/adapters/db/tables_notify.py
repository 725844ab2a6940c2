"""The notification outbox (same ``metadata`` as the core).

One row per message to one person, inserted in the transaction of the event that causes it, so
a row exists exactly when its event committed. Senders in any process claim due rows (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL), deliver them outside any transaction, and settle them.
A claim pushes ``next_attempt_at`` forward by a lease, so a sender that died mid-delivery hands
its rows back when the lease runs out; ``claim`` holds the claimer's token, and only the holder
may settle the row.
"""

from __future__ import annotations

import sqlalchemy as sa

from signoff.adapters.db.tables import Json, UtcDateTime, metadata

__all__ = ["notification_outbox"]

notification_outbox = sa.Table(
    "notification_outbox", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("action_id", sa.String(40), sa.ForeignKey("actions.id"), nullable=False),
    sa.Column("workflow", sa.String(200), nullable=False),
    sa.Column("recipient_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("claim", sa.String(40)),
    sa.Column("channels_done", Json, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("settled_at", UtcDateTime()),
    # One message per person per event: each of these events happens once per action.
    sa.UniqueConstraint("event", "action_id", "recipient_id", name="uq_notification_outbox_once"),
    sa.Index("ix_notification_outbox_due", "state", "next_attempt_at"),
    sa.Index("ix_notification_outbox_recipient", "recipient_id", "created_at"),
)
