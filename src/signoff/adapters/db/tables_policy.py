"""The policy engine's own storage: just-in-time elevations (same ``metadata`` as the core).

Shadow-mode differences need no table: they are part of each ``action.submitted`` audit event
(``data.shadow``), so the report reads the tamper-evident record itself.
"""

from __future__ import annotations

import sqlalchemy as sa

from signoff.adapters.db.tables import Json, UtcDateTime, metadata

__all__ = ["agent_elevations"]

agent_elevations = sa.Table(
    "agent_elevations", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("action_id", sa.String(40), sa.ForeignKey("actions.id"), nullable=False,
              unique=True),
    sa.Column("workflows", Json, nullable=False),
    sa.Column("kinds", Json, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("granted_by", sa.String(80), nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Column("ends_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime()),
    sa.Column("revoked_by", sa.String(80)),
    sa.Column("ended_at", UtcDateTime()),
    sa.Index("ix_agent_elevations_agent_ends", "agent_id", "ends_at"),
    sa.Index("ix_agent_elevations_open_ends", "ended_at", "ends_at"),
)
