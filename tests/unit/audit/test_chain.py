"""The pure chain check: every tampering kind named, corrupted rows reported, never raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signoff.domain.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainWalk,
    chain_hash,
    check_tail,
    event_body,
    format_at,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_rows(n: int) -> list[list[Any]]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        ev = AuditEvent(type="x.happened", actor="agent:a1", at=T0 + timedelta(seconds=seq),
                        action_id=None if seq % 3 else f"act_{seq}",
                        data={"n": seq, "text": "é \"quoted\" \n\u2028"})
        body = event_body(seq=seq, event=ev)
        digest = chain_hash(prev, body)
        rows.append([seq, format_at(ev.at), ev.actor, ev.type, ev.action_id, body.decode(),
                     prev, digest])
        prev = digest
    return rows


def walk(rows: list[list[Any]], **kw: Any) -> ChainWalk:
    w = ChainWalk(**kw)
    w.feed([tuple(r) for r in rows])  # type: ignore[misc]
    return w


def test_intact() -> None:
    w = walk(make_rows(50))
    assert w.problem is None and w.checked == 50 and w.last_seq == 50


@pytest.mark.parametrize(("mutate", "seq", "kind"), [
    (lambda r: r[9].__setitem__(5, r[9][5].replace('"n":10', '"n":11')), 10, "changed"),
    (lambda r: r.pop(9), 10, "deleted"),
    (lambda r: r[4].__setitem__(5, None), 5, "corrupted"),
    (lambda r: r[4].__setitem__(5, "{oops"), 5, "corrupted"),
    (lambda r: r[6].__setitem__(2, "human:h9"), 7, "changed"),
    (lambda r: r[6].__setitem__(1, "2020-01-01T00:00:00.000000Z"), 7, "changed"),
])
def test_each_tampering_is_named(mutate: Any, seq: int, kind: str) -> None:
    rows = make_rows(20)
    mutate(rows)
    problem = walk(rows).problem
    assert problem is not None and (problem.seq, problem.kind) == (seq, kind)


def test_reordering() -> None:
    rows = make_rows(20)
    rows[7][5:], rows[8][5:] = rows[8][5:], rows[7][5:]
    problem = walk(rows).problem
    assert problem is not None and (problem.seq, problem.kind) == (8, "reordered")


def test_signed_hash_mismatch() -> None:
    problem = walk(make_rows(10), expect_hashes={5: "0" * 64}).problem
    assert problem is not None and problem.seq == 5


def test_tail_checks() -> None:
    assert check_tail(last_seq=5, last_hash="h", head=(7, "x"), checkpoints=[],
                      source="s").kind == "truncated"  # type: ignore[union-attr]
    assert check_tail(last_seq=9, last_hash="h", head=(7, "x"), checkpoints=[],
                      source="s").kind == "inserted"  # type: ignore[union-attr]
    assert check_tail(last_seq=5, last_hash="h", head=None, checkpoints=[{"seq": 6}],
                      source="s").seq == 6  # type: ignore[union-attr]
    assert check_tail(last_seq=0, last_hash=GENESIS_HASH, head=(0, GENESIS_HASH),
                      checkpoints=[], source="s") is None
