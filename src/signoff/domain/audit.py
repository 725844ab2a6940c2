"""Audit events and the hash chain that seals them.

``hash = SHA-256(prev_hash || body)`` where ``body`` is the RFC 8785 canonical JSON of the event
``{seq, at, actor, type, action_id, data}``. The body bytes are stored exactly as hashed, so
verification never re-serialises.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signoff.domain.actions import canonical_json

__all__ = ["BODY_KEYS", "GENESIS_HASH", "AuditEvent", "ChainWalk", "Problem", "StoredRow",
           "body_parts", "chain_hash", "check_signed", "check_tail", "checkpoint_body",
           "diagnose", "event_body", "format_at"]

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
    prefix, suffix = body_parts(event)
    return prefix + str(seq).encode() + suffix


_TYPE_KEY = b',"type":'


def body_parts(event: AuditEvent) -> tuple[bytes, bytes]:
    """The event's canonical body before and after its ``seq``: the body is
    ``prefix + str(seq) + suffix``, so a body can be finished once ``seq`` is known (the
    database does that on PostgreSQL) without canonicalising again.

    The keys sort as action_id, actor, at, data, seq, type: ``seq`` is followed only by
    ``type``, a JSON string, which cannot hold an unescaped quote, so the last ``,"type":``
    in the body is the top-level one."""
    whole = canonical_json({
        "seq": 0,
        "at": format_at(event.at),
        "actor": event.actor,
        "type": event.type,
        "action_id": event.action_id,
        "data": event.data,
    })
    cut = whole.rindex(_TYPE_KEY)
    if not isinstance(event.type, str) or not whole[:cut].endswith(b'"seq":0'):
        raise ValueError("an audit event's type must be a string")
    return whole[:cut - 1], whole[cut:]


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


# --- verification -----------------------------------------------------------------------------
# Verify walks the stored rows once and never parses JSON on the way. The body is canonical (keys
# sorted: action_id, actor, at, data, seq, type), so the indexed columns must appear verbatim as
# its head and tail: the hot loop builds both with f-strings around the raw column values and
# compares, next to one SHA-256 per row. Building them without JSON quoting is exact as long as
# the head holds only its structural quotes and no backslash (a value with a quote or backslash
# could otherwise line up with other bytes of the body); such a row, like any row that fails,
# goes to ``diagnose``, which parses it, says what is wrong, or finds it fine after all. So a
# corrupted row (bad JSON, NULLs) is reported, never raised.

StoredRow = tuple[Any, Any, Any, Any, Any, Any, Any, Any]
"""(seq, at as ``format_at`` text, actor, type, action_id, body, prev_hash, hash)."""

BODY_KEYS = frozenset({"seq", "at", "actor", "type", "action_id", "data"})


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: str   # changed | deleted | inserted | reordered | truncated | corrupted | signature
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


@dataclass(slots=True)
class ChainWalk:
    """Incremental chain check: feed rows in ``seq`` order, then read ``problem``."""

    start_seq: int = 0
    start_hash: str = GENESIS_HASH
    expect_hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash signed for it
    checked: int = 0
    last_seq: int = 0
    last_hash: str = ""
    problem: Problem | None = None
    _tails: dict[Any, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.last_seq, self.last_hash = self.start_seq, self.start_hash

    def feed(self, rows: Iterable[StoredRow]) -> bool:
        """Check rows; False once a problem was found (the walk stops there)."""
        if self.problem is not None:
            return False
        sha, tails, signed = hashlib.sha256, self._tails, self.expect_hashes
        if len(tails) > 10_000:  # types repeat; a corrupted table could hold many
            tails.clear()
        first = expected = self.last_seq + 1
        prev = self.last_hash
        for row in rows:
            seq, at, actor, type_, action_id, body, prev_hash, digest = row
            try:
                if action_id is None:
                    head, quotes = f'{{"action_id":null,"actor":"{actor}","at":"{at}","data":', 12
                else:
                    head = f'{{"action_id":"{action_id}","actor":"{actor}","at":"{at}","data":'
                    quotes = 14
                ok = (seq == expected and prev_hash == prev
                      and sha((prev + body).encode()).hexdigest() == digest
                      and body.startswith(head) and head.count('"') == quotes
                      and "\\" not in head
                      and body.endswith(f',"seq":{seq},"type":'
                                        f'{tails.get(type_) or _tail(tails, type_)}'))
            except (TypeError, AttributeError):
                ok = False
            if not ok or (seq in signed and signed[seq] != digest):
                problem = diagnose(row, expected=expected, prev=prev, signed=signed)
                if problem is not None:
                    self.problem = problem
                    break
            expected, prev = seq + 1, digest
        self.checked += expected - first
        self.last_seq, self.last_hash = expected - 1, prev
        return self.problem is None


def _tail(tails: dict[Any, str], type_: Any) -> str:
    """The body's last member's value, quoted as RFC 8785 does, and the closing brace."""
    tails[type_] = tail = _jstr(type_) + "}"
    return tail


def _jstr(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str) and value.isascii() and value.isprintable() \
            and '"' not in value and "\\" not in value:
        return f'"{value}"'  # nothing to escape: JSON and RFC 8785 quote it as is
    return json.dumps(value, ensure_ascii=False)


def diagnose(row: StoredRow, *, expected: int, prev: str, signed: dict[int, str]
             ) -> Problem | None:
    """Say what is wrong with a row that failed the fast check (None: nothing, after all)."""
    seq, at, actor, type_, action_id, body, prev_hash, digest = row
    if not isinstance(seq, int):
        return Problem(expected, "corrupted", f"row after seq {expected - 1} has no usable seq")
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
        return Problem(expected, "deleted", f"event(s) {missing} missing: the next stored "
                                            f"event is seq {seq}")
    if not isinstance(body, str) or not isinstance(prev_hash, str) or not isinstance(digest, str):
        return Problem(seq, "corrupted", "body, prev_hash or hash is missing (NULL)")
    try:
        parsed = json.loads(body)
        if not isinstance(parsed, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        return Problem(seq, "corrupted", f"body is not a JSON object ({exc})")
    body_seq = parsed.get("seq")
    if isinstance(body_seq, int) and body_seq != seq:
        if body_seq > seq:
            return Problem(seq, "reordered", f"the event stored at seq {seq} was sealed as "
                                             f"seq {body_seq}")
        return Problem(seq - 1, "inserted", f"an event was inserted before seq {seq}: the event "
                                            f"stored there was sealed as seq {body_seq}")
    own_ok = hashlib.sha256((prev_hash + body).encode()).hexdigest() == digest
    if prev_hash != prev:
        if own_ok and seq > 1:
            return Problem(seq - 1, "changed", f"event {seq - 1} was changed and re-hashed: "
                                               f"seq {seq} still links to its original hash")
        return Problem(seq, "changed", f"prev_hash of seq {seq} does not link to seq {seq - 1}")
    if not own_ok:
        return Problem(seq, "changed", f"event {seq} does not hash to its stored hash "
                                       "(its body or hash was changed)")
    if seq in signed and signed[seq] != digest:
        return Problem(seq, "changed", f"hash of seq {seq} differs from the signed checkpoint")
    if parsed.keys() != BODY_KEYS or type(body_seq) is not int:
        return Problem(seq, "corrupted", "body does not hold exactly seq, at, actor, type, "
                                         "action_id and data")
    for name, column in (("action_id", action_id), ("actor", actor), ("type", type_),
                         ("at", at)):
        if parsed.get(name) != column:
            return Problem(seq, "changed", f"column {name}={column!r} disagrees with the hashed "
                                           f"event ({parsed.get(name)!r})")
    if body.encode() != canonical_json(parsed):
        return Problem(seq, "corrupted", "body is not in canonical form")
    return None


def checkpoint_body(*, seq: int, hash_: str, at: str, kid: str) -> bytes:
    """The bytes a checkpoint signs: canonical JSON of ``{seq, hash, at, kid}``."""
    return canonical_json({"seq": seq, "hash": hash_, "at": at, "kid": kid})


def check_signed(record: dict[str, Any], *, what: str, fields: tuple[str, ...],
                 verify: Callable[[str, bytes, str], bool]) -> Problem | None:
    """A checkpoint or anchor: its fields re-canonicalised must carry a valid signature."""
    seq = record.get("seq")
    if not isinstance(seq, int):
        return Problem(0, "corrupted", f"{what} without a seq")
    try:
        body = canonical_json({k: record[k] for k in fields})
        good = verify(str(record["kid"]), body, str(record["signature"]))
    except (KeyError, TypeError, ValueError) as exc:
        return Problem(seq, "signature", f"{what} at seq {seq} is malformed ({exc})")
    if not good:
        return Problem(seq, "signature", f"{what} at seq {seq}: bad signature or unknown key "
                                         f"{record.get('kid')!r}")
    return None


def check_tail(*, last_seq: int, last_hash: str, head: tuple[int, str] | None,
               checkpoints: Iterable[dict[str, Any]], source: str) -> Problem | None:
    """After the walk: the chain must reach the head and every signed checkpoint."""
    if head is not None:
        if head[0] > last_seq:
            return Problem(last_seq + 1, "truncated", f"the chain ends at seq {last_seq} but "
                                                      f"the head says {head[0]}")
        if head[0] < last_seq:
            return Problem(head[0] + 1, "inserted", f"events after the head (seq {head[0]}) "
                                                    f"up to seq {last_seq}")
        if head[0] == last_seq and head[1] != last_hash and last_seq:
            return Problem(last_seq, "changed", "the last event's hash differs from the head")
    for cp in checkpoints:
        if cp["seq"] > last_seq:
            return Problem(last_seq + 1, "truncated",
                           f"the chain ends at seq {last_seq} but {source} signed seq "
                           f"{cp['seq']}")
    return None
