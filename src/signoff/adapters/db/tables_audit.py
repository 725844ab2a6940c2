"""Tables of the system of record beyond the events themselves: checkpoints and archive anchors.

Kept apart from ``tables.py`` (same ``metadata``) so the audit chain's storage can grow without
touching the core schema. A checkpoint's primary key is its ``seq``: two server processes that
race to checkpoint the same head cannot both succeed, so there is never more than one signed
statement about one position in the chain.
"""

from __future__ import annotations

import sqlalchemy as sa

from signoff.adapters.db.tables import UtcDateTime, audit_events, metadata

__all__ = ["audit_anchors", "audit_checkpoints"]

_Seq = sa.BigInteger().with_variant(sa.Integer, "sqlite")

audit_checkpoints = sa.Table(
    "audit_checkpoints", metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("kid", sa.String(80), nullable=False),
    sa.Column("body", sa.Text, nullable=False),         # the exact canonical bytes signed
    sa.Column("signature", sa.Text, nullable=False),    # base64url Ed25519 signature over body
)

audit_anchors = sa.Table(
    "audit_anchors", metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=False),  # last archived seq
    sa.Column("hash", sa.String(64), nullable=False),                # its hash: the new genesis
    sa.Column("first_seq", _Seq, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("archive_name", sa.Text, nullable=False),
    sa.Column("archive_sha256", sa.String(64), nullable=False),
    sa.Column("kid", sa.String(80), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
)

# Filters of GET /v1/audit by agent and workflow walk these instead of the whole table.
sa.Index("ix_audit_agent_seq", audit_events.c.agent_id, audit_events.c.seq)
sa.Index("ix_audit_workflow_seq", audit_events.c.workflow, audit_events.c.seq)
sa.Index("ix_audit_actor_seq", audit_events.c.actor, audit_events.c.seq)
