"""The libpq-level path to PostgreSQL (pg_wire.py), against a real server: one round trip
per flight, the transaction begun inside the first one, concurrent units keeping the audit
chain whole, statements prepared once and kept across rollbacks, big flights, and errors that
leave the connection usable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import pq

from signoff.adapters.db import tables as t
from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.pg_wire import _WIRE as _WIRE_KEY
from signoff.adapters.db.pg_wire import PgWire
from signoff.adapters.db.uow import SqlUnitOfWork
from signoff.domain.audit import AuditEvent, chain_hash, event_body
from signoff.errors import Unavailable

pytestmark = pytest.mark.postgres

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(pg_engine: sa.Engine) -> sa.Engine:
    return pg_engine


@pytest.fixture
def flights(monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """Each flight sent, as its statements' SQL (the real exchange still runs)."""
    seen: list[list[bytes]] = []
    real = PgWire.exchange

    def counting(self: PgWire, statements: Any) -> Any:
        seen.append([sql for sql, _ in statements])
        return real(self, statements)

    monkeypatch.setattr(PgWire, "exchange", counting)
    return seen


def _user(uid: str) -> dict[str, object]:
    return {"id": uid, "email": f"{uid}@example.com", "name": uid, "roles": ["owner"],
            "active": True, "password_hash": None, "failed_logins": 0, "locked_until": None,
            "created_at": AT}


def _event(n: int) -> AuditEvent:
    return AuditEvent(type="test.event", actor="system", at=AT, data={"n": n})


def _prepared(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(
            "select name from pg_prepared_statements order by name").scalars())


def _a_proposal_like_unit(engine: sa.Engine, uid: str) -> None:
    with SqlUnitOfWork(engine) as uow:
        assert uow.humans.get(uid) is None  # a read first, as a proposal's admission
        uow.humans._insert_row(t.users, _user(uid))
        uow.record(_event(1))
        uow.record(_event(2))
        uow.commit()


def test_a_writing_unit_is_two_round_trips_and_begins_in_the_first(
        engine: sa.Engine, flights: list[list[bytes]]) -> None:
    _a_proposal_like_unit(engine, "usr_a")
    assert len(flights) == 2
    read, final = flights
    assert len(read) == 1 and read[0].startswith(b"SELECT")  # BEGIN rides along (below)
    assert final[0].startswith(b"INSERT INTO users")
    # each event: appended after the head, locked, then the head moved; then COMMIT
    assert [f.split()[0] for f in final[1:]] == [b"INSERT", b"UPDATE", b"INSERT", b"UPDATE",
                                                 b"COMMIT"]
    assert b"FOR UPDATE" in final[1] and b"audit_events" in final[1]
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.users.c.email)).scalar_one() == "usr_a@example.com"
    _assert_chain(engine, 2)


def test_the_server_chains_exactly_the_bytes_python_would(engine: sa.Engine) -> None:
    tricky = AuditEvent(type="test.tricky", actor="agent:bot", at=AT, action_id="act_1",
                        data={"seq": 7, "type": ',"type":', "note": "é ✓ \u2028 \\ \"",
                              "n": [1.5, None, True], "nested": {"z": 1, "a": 2}},
                        agent_id="agt_1", workflow="refunds")
    with SqlUnitOfWork(engine) as uow:
        uow.humans.get("usr_none")
        uow.record(_event(1))
        uow.record(tricky)
        uow.commit()
    with engine.connect() as conn:
        body = conn.execute(sa.select(t.audit_events.c.body).where(
            t.audit_events.c.seq == 2)).scalar_one()
    assert body.encode() == event_body(seq=2, event=tricky)
    _assert_chain(engine, 2)


def test_without_a_utf8_server_the_chain_is_sealed_in_python(
        engine: sa.Engine, flights: list[list[bytes]]) -> None:
    with SqlUnitOfWork(engine) as uow:
        wire = uow.connection.connection.info[_WIRE_KEY]
        wire.server_utf8 = False  # as on a server whose encoding is not UTF8
        uow.humans.get("usr_none")
        uow.record(_event(1))
        uow.commit()
    wire.server_utf8 = True
    assert len(flights) == 3 and b"FOR UPDATE" in flights[1][-1]
    _a_proposal_like_unit(engine, "usr_a")  # the two ways make one chain
    assert len(flights) == 5
    _assert_chain(engine, 3)


def test_the_first_flight_opens_the_transaction_the_unit_then_commits(
        engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        driver = uow.connection.connection.driver_connection
        assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
        uow.humans.get("usr_none")
        assert driver.pgconn.transaction_status == pq.TransactionStatus.INTRANS
        uow.humans._insert_row(t.users, _user("usr_b"))
        uow.humans.get("usr_b")  # sent; not committed
        with engine.connect() as other:  # pool overflow: another connection
            assert other.execute(sa.select(sa.func.count()).select_from(t.users)
                                 ).scalar_one() == 0
        uow.record(_event(1))
        uow.commit()
        assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
    with SqlUnitOfWork(engine, readonly=True, transaction=False) as uow:
        driver = uow.connection.connection.driver_connection
        assert uow.humans.get("usr_b") is not None
        # autocommit: no transaction was begun for the read
        assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE


def test_statements_are_prepared_once_and_survive_rollbacks(engine: sa.Engine) -> None:
    _a_proposal_like_unit(engine, "usr_a")
    prepared = _prepared(engine)
    assert prepared and all(n.startswith("signoff_") for n in prepared)
    for i in range(5):
        with SqlUnitOfWork(engine) as uow:  # rolled back: psycopg would DEALLOCATE ALL
            uow.humans.get("usr_a")
            uow.rollback()
        _a_proposal_like_unit(engine, f"usr_{i}")
    assert _prepared(engine) == prepared  # the same statements, none lost, none added


def test_lost_statements_are_a_retryable_503_then_prepared_again(engine: sa.Engine) -> None:
    _a_proposal_like_unit(engine, "usr_a")
    with engine.connect() as conn:  # as if something else had cleared the session
        conn.exec_driver_sql("DEALLOCATE ALL")
    with pytest.raises(Unavailable):
        _a_proposal_like_unit(engine, "usr_b")
    _a_proposal_like_unit(engine, "usr_b")  # the retry works
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar_one() == 2


def _wire(conn: sa.Connection) -> PgWire:
    return PgWire.of(conn)


def test_a_flight_bigger_than_the_socket_buffers(engine: sa.Engine) -> None:
    big = "x" * (8 << 20)  # 8 MiB each way: libpq must read while it writes
    with engine.connect() as conn:
        wire = _wire(conn)
        sizes = wire.exchange([(b"SELECT length($1::text)", (big,)),
                               (b"SELECT $1::text", (big,))])
        assert sizes[0] == [(len(big),)] and sizes[1] == [(big,)]
        conn.rollback()


def test_the_first_failure_raises_after_the_flight_and_the_rest_did_not_run(
        engine: sa.Engine) -> None:
    insert = b"INSERT INTO groups (id, name, members) VALUES ($1, $2, $3)"
    with engine.connect() as conn:
        wire = _wire(conn)
        with pytest.raises(psycopg.errors.UniqueViolation) as failed:
            wire.exchange([(insert, ("grp_1", "ops", "[]")), (insert, ("grp_2", "ops", "[]")),
                           (b"SELECT 1", ())])
        assert failed.value.diag.constraint_name
        # The wire began the transaction, not SQLAlchemy: the driver ends it.
        conn.connection.driver_connection.rollback()
        assert wire.exchange([(b"SELECT count(*) FROM groups", ())]) == [[(0,)]]


def test_values_that_cannot_be_sent_fail_before_anything_is_sent(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        wire = _wire(conn)
        driver = conn.connection.driver_connection
        with pytest.raises(psycopg.DataError):
            wire.exchange([(b"SELECT $1::text", ("a\x00b",))])
        assert driver.pgconn.pipeline_status == pq.PipelineStatus.OFF
        assert driver.pgconn.transaction_status == pq.TransactionStatus.IDLE  # nothing sent
        assert wire.exchange([(b"SELECT $1::int + 1", (41,))]) == [[(42,)]]
        conn.rollback()


def test_values_and_rows_convert_as_psycopg_cursors_do(engine: sa.Engine) -> None:
    sql = b"SELECT $1::timestamptz, $2::jsonb, $3::boolean, $4::bigint, $5::text, $6::text"
    values = (AT, psycopg.types.json.Jsonb({"k": [1, "é"]}), True, 2**53, "‮x", None)
    with engine.connect() as conn:
        [[row]] = _wire(conn).exchange([(sql, values)])
        driver = conn.connection.driver_connection
        expected = driver.execute(b"SELECT %s::timestamptz, %s::jsonb, %s::boolean, "
                                  b"%s::bigint, %s::text, %s::text", values).fetchone()
        conn.rollback()
    assert row == expected
    assert row[0] == AT and row[1] == {"k": [1, "é"]} and row[2] is True and row[5] is None


def test_concurrent_units_in_two_engines_keep_the_chain_gapless(engine: sa.Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    engines = [create_engine(url, pool_size=4), create_engine(url, pool_size=4)]
    errors: list[BaseException] = []

    def work(e: sa.Engine, worker: int) -> None:
        try:
            for i in range(25):
                with SqlUnitOfWork(e) as uow:
                    uow.humans.get("usr_none")
                    uow.record(_event(worker * 100 + i))
                    if i % 3 == 0:
                        uow.record(_event(worker * 100 + i))
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(engines[n % 2], n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for e in engines:
        e.dispose()
    assert errors == []
    _assert_chain(engine, 8 * (25 + 9))


def _assert_chain(engine: sa.Engine, count: int) -> None:
    """seq 1..count without a gap, each event hashed after the one before, the head last."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.audit_events.c.seq, t.audit_events.c.body,
                                      t.audit_events.c.prev_hash, t.audit_events.c.hash)
                            .order_by(t.audit_events.c.seq)).all()
        head = conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)).one()
    assert [r.seq for r in rows] == list(range(1, count + 1))
    prev = rows[0].prev_hash
    for row in rows:
        assert row.prev_hash == prev and row.hash == chain_hash(prev, row.body.encode())
        prev = row.hash
    assert (head.seq, head.hash) == (count, prev)
