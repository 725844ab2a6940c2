"""PostgreSQL seals the audit chain itself, in the commit's one flight.

Sealing in Python needs the locked audit head before the events can be written: a round trip
of its own, with the chain's lock held across it. Here each event is two statements that
read, extend and move the head inside the server, so the events, the notifications and
``COMMIT`` leave in one flight behind the unit's other writes, and the head is locked only
while that flight runs. The bytes are the same as ``domain/audit.py`` makes them: the body
is the event's canonical JSON around its ``seq`` (``body_parts``), and the hash is
``sha256(prev_hash || body)`` in hex, which PostgreSQL computes with ``sha256`` over the
UTF-8 bytes (so the server's encoding must be UTF8; otherwise the unit seals in Python, as
before). ``tests/integration/db/test_pg_wire.py`` re-checks every hash in Python.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.domain.audit import AuditEvent, body_parts

__all__ = ["sealing_statements"]

# $1 and $2: the body before and after its seq. The head row is locked by the first event
# (FOR UPDATE) and moved by each; later statements of the same transaction see it moved.
_APPEND = b"""
INSERT INTO audit_events (seq, at, actor, type, action_id, agent_id, workflow, body,
                          prev_hash, hash)
SELECT audit_head.seq + 1, $3::timestamptz, $4::varchar, $5::varchar, $6::varchar,
       $7::varchar, $8::varchar,
       $1::text || (audit_head.seq + 1)::text || $2::text,
       audit_head.hash,
       encode(sha256(convert_to(
           audit_head.hash || $1::text || (audit_head.seq + 1)::text || $2::text, 'UTF8')), 'hex')
FROM audit_head WHERE audit_head.id = 1 FOR UPDATE"""
_MOVE = b"""
UPDATE audit_head SET
    seq = audit_head.seq + 1,
    hash = encode(sha256(convert_to(
        audit_head.hash || $1::text || (audit_head.seq + 1)::text || $2::text, 'UTF8')), 'hex')
WHERE audit_head.id = 1"""


def sealing_statements(events: list[AuditEvent], dialect: sa.Dialect
                       ) -> list[tuple[bytes, tuple[Any, ...]]]:
    """The statements that append ``events`` to the chain, in order."""
    at_value = t.audit_events.c.at.type.process_bind_param  # the column's UTC rule
    statements: list[tuple[bytes, tuple[Any, ...]]] = []
    for event in events:
        prefix, suffix = (part.decode() for part in body_parts(event))
        statements.append((_APPEND, (prefix, suffix, at_value(event.at, dialect), event.actor,
                                     event.type, event.action_id, event.agent_id,
                                     event.workflow)))
        statements.append((_MOVE, (prefix, suffix)))
    return statements
