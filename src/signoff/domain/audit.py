"""Audit events and the hash chain that seals them.

``hash = SHA-256(prev_hash || body)`` where ``body`` is the RFC 8785 canonical JSON of the event
``{seq, at, actor, type, action_id, data}``. The body bytes are stored exactly as hashed, so
verification never re-serialises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signoff.domain.actions import canonical_json

__all__ = ["AuditEvent", "GENESIS_HASH", "chain_hash", "event_body", "format_at"]

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """An event not yet sealed: the unit of work assigns ``seq`` and hashes at commit."""

    type: str
    actor: str
    at: datetime
    action_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Denormalised for filtering (GET /v1/audit): not part of the hashed body beyond ``data``.
    agent_id: str | None = None
    workflow: str | None = None


def format_at(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_body(*, seq: int, event: AuditEvent) -> bytes:
    return canonical_json({
        "seq": seq,
        "at": format_at(event.at),
        "actor": event.actor,
        "type": event.type,
        "action_id": event.action_id,
        "data": event.data,
    })


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()
