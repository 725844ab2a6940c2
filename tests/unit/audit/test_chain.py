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


def sealed(events: list[AuditEvent]) -> list[list[Any]]:
    rows, prev = [], GENESIS_HASH
    for seq, ev in enumerate(events, start=1):
        body = event_body(seq=seq, event=ev)
        digest = chain_hash(prev, body)
        rows.append([seq, format_at(ev.at), ev.actor, ev.type, ev.action_id, body.decode(),
                     prev, digest])
        prev = digest
    return rows


def make_rows(n: int) -> list[list[Any]]:
    return sealed([AuditEvent(type="x.happened", actor="agent:a1", at=T0 + timedelta(seconds=seq),
                              action_id=None if seq % 3 else f"act_{seq}",
                              data={"n": seq, "text": "é \"quoted\" \n\u2028"})
                   for seq in range(1, n + 1)])


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


def test_values_that_need_json_escaping_still_verify() -> None:
    """The fast check compares unquoted columns; a quote or backslash takes the careful path."""
    rows = sealed([AuditEvent(type='odd"type\\', actor='human:"q"\\', at=T0, action_id='a"\\',
                              data={"x": 1}),
                   AuditEvent(type="x.happened", actor="agent:é\u2028", at=T0, data={})])
    w = walk(rows)
    assert w.problem is None and w.checked == 2


def test_columns_cannot_borrow_bytes_from_the_data() -> None:
    """Unquoted columns that line up with the body's data are still caught as changed."""
    at = format_at(T0)
    rows = sealed([AuditEvent(type="t", actor="B", at=T0, action_id="A",
                              data={"a": "v", "actor": "x", "at": "y", "data": 1})])
    rows[0][4] = f'A","actor":"B","at":"{at}","data":{{"a":"v'
    rows[0][2], rows[0][1] = "x", "y"
    head = f'{{"action_id":"{rows[0][4]}","actor":"x","at":"y","data":'
    assert rows[0][5].startswith(head)  # the naive comparison alone would pass
    problem = walk(rows).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "changed")
    rows = sealed([AuditEvent(type="t", actor="a\\b", at=T0, data={})])
    rows[0][2] = "a\\\\b"  # the column holds the body's escaped spelling, not the value
    problem = walk(rows).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "changed")


def test_body_with_a_missing_key_is_reported() -> None:
    rows = sealed([AuditEvent(type="t", actor="a", at=T0, data={})])
    body = rows[0][5].replace(',"data":{}', "")
    rows[0][5], rows[0][7] = body, chain_hash(GENESIS_HASH, body.encode())
    problem = walk(rows).problem
    assert problem is not None and (problem.seq, problem.kind) == (1, "corrupted")
