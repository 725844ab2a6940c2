"""Verify names the first bad seq and what is wrong, for each kind of direct SQL tampering."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.services import audit as audit_service
from tests.integration.audit.conftest import deps, sql, verify


def test_intact_chain_verifies(chain: Any) -> None:
    report = verify(chain)
    assert report["ok"], report
    assert report["first_bad"] is None
    assert report["events_checked"] == report["head_seq"] > 15


def test_empty_database_verifies(signoff: Any) -> None:
    from tests.conftest import ADMIN
    report = audit_service.verify(deps_for(signoff), ADMIN)
    assert report["ok"] and report["events_checked"] == 0 and report["latest_checkpoint"] is None


def deps_for(app: Any) -> Any:
    from signoff.adapters.db.audit_store import audit_deps
    return audit_deps(app.ctx, app.settings)


def test_changed_body(chain: Any) -> None:
    sql(chain, "UPDATE audit_events SET body = replace(body, 'doc/3', 'doc/9') WHERE seq = "
               "(SELECT min(seq) FROM audit_events WHERE body LIKE '%doc/3%')")
    seq = _seq_of(chain, "doc/9")
    bad = verify(chain)["first_bad"]
    assert bad["seq"] == seq and bad["kind"] == "changed"


def test_changed_and_rehashed(chain: Any) -> None:
    """Recomputing the changed event's hash moves the break to the next link: still caught."""
    import hashlib
    rows = _rows(chain)
    seq, prev, body = rows[10]
    new_body = body.replace('"actor":', '"actor":', 1).replace("tests", "evil")
    new_body = body.replace('"at":"', '"at":"1', 1) if new_body == body else new_body
    digest = hashlib.sha256((prev + new_body).encode()).hexdigest()
    sql(chain, "UPDATE audit_events SET body = :b, hash = :h WHERE seq = :s", b=new_body,
        h=digest, s=seq)
    bad = verify(chain)["first_bad"]
    assert bad["seq"] == seq and bad["kind"] == "changed"


def test_changed_indexed_column(chain: Any) -> None:
    seq = _rows(chain)[5][0]
    sql(chain, "UPDATE audit_events SET actor = 'human:someone-else' WHERE seq = :s", s=seq)
    bad = verify(chain)["first_bad"]
    assert bad == {"seq": seq, "kind": "changed", "detail": bad["detail"]}
    assert "actor" in bad["detail"]


def test_deleted_event(chain: Any) -> None:
    sql(chain, "DELETE FROM audit_events WHERE seq = 7")
    bad = verify(chain)["first_bad"]
    assert bad["seq"] == 7 and bad["kind"] == "deleted"


def test_inserted_event_renumbering_the_rest(chain: Any) -> None:
    import hashlib
    head = _rows(chain)[-1][0]
    sql(chain, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
    sql(chain, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1005")
    prev_hash = _hash(chain, 4)
    body = _rows(chain)[3][2].replace('"seq":4,', '"seq":5,')  # a plausible copy of event 4
    sql(chain, "INSERT INTO audit_events (seq, at, actor, type, action_id, body, prev_hash, "
               "hash) SELECT 5, at, actor, type, action_id, :b, :p, :h FROM audit_events "
               "WHERE seq = 4", b=body, p=prev_hash,
        h=hashlib.sha256((prev_hash + body).encode()).hexdigest())
    assert _rows(chain)[-1][0] == head + 1
    bad = verify(chain)["first_bad"]
    assert bad["kind"] == "inserted" and bad["seq"] == 5


def test_reordered_events(chain: Any) -> None:
    sql(chain, "UPDATE audit_events SET seq = -1 WHERE seq = 8")
    sql(chain, "UPDATE audit_events SET seq = 8 WHERE seq = 9")
    sql(chain, "UPDATE audit_events SET seq = 9 WHERE seq = -1")
    bad = verify(chain)["first_bad"]
    assert bad["seq"] == 8 and bad["kind"] == "reordered"


def test_truncated_tail_against_head(chain: Any) -> None:
    last = _rows(chain)[-1][0]
    sql(chain, "DELETE FROM audit_events WHERE seq >= :s", s=last - 2)
    bad = verify(chain)["first_bad"]
    assert bad["kind"] == "truncated" and bad["seq"] == last - 2


def test_truncated_tail_against_checkpoint_even_with_head_rewritten(chain: Any) -> None:
    record, _ = audit_service.checkpoint(deps(chain), force=True)
    assert record is not None
    last = record["seq"]
    sql(chain, "DELETE FROM audit_events WHERE seq > :s", s=last - 3)
    sql(chain, "UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_events WHERE "
               "seq = :s)", s=last - 3)
    report = verify(chain)
    assert not report["ok"]
    assert report["first_bad"]["kind"] == "truncated" and report["first_bad"]["seq"] == last - 2


def test_corrupted_rows_are_reported_not_raised(chain: Any) -> None:
    sql(chain, "UPDATE audit_events SET body = '{not json' WHERE seq = 3")
    bad = verify(chain)["first_bad"]
    assert bad["seq"] == 3 and bad["kind"] in ("changed", "corrupted")


def test_null_action_id_mismatch(chain: Any) -> None:
    seq = max(r[0] for r in _rows(chain))
    sql(chain, "UPDATE audit_events SET action_id = NULL WHERE seq = :s", s=seq)
    report = verify(chain)
    assert not report["ok"] and report["first_bad"]["seq"] == seq


def test_forged_checkpoint_signature(chain: Any) -> None:
    audit_service.checkpoint(deps(chain), force=True)
    sql(chain, "UPDATE audit_checkpoints SET hash = :h", h="f" * 64)
    report = verify(chain)
    assert not report["ok"]
    assert {p["kind"] for p in report["problems"]} >= {"signature"}


@pytest.mark.parametrize("n", [1])
def test_checkpoint_once_per_seq(chain: Any, n: int) -> None:
    first, _ = audit_service.checkpoint(deps(chain), force=True)
    again, _ = audit_service.checkpoint(deps(chain), force=True)
    assert first is not None and again is None and n == 1


# --- helpers ---------------------------------------------------------------------------------

def _rows(world: Any) -> list[tuple[int, str, str]]:
    import sqlalchemy as sa
    with world.app.engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT seq, prev_hash, body FROM audit_events ORDER BY seq"))]


def _hash(world: Any, seq: int) -> str:
    import sqlalchemy as sa
    with world.app.engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = :s"),
                                {"s": seq}).scalar())


def _at(world: Any, seq: int) -> Any:
    import sqlalchemy as sa
    with world.app.engine.connect() as conn:
        return conn.execute(sa.text("SELECT at FROM audit_events WHERE seq = :s"),
                            {"s": seq}).scalar()


def _seq_of(world: Any, needle: str) -> int:
    return next(seq for seq, _prev, body in _rows(world) if needle in body)
