"""PostgreSQL units of work: writes wait for the next statement, the commit goes out in one
flight, pooled connections are checked only after sitting idle, and a lost connection is a 503."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from signoff.adapters.db import engine as engine_module
from signoff.adapters.db import tables as t
from signoff.adapters.db.uow import SqlUnitOfWork
from signoff.domain.audit import AuditEvent
from signoff.errors import Unavailable
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(pg_engine: sa.Engine) -> sa.Engine:
    return pg_engine


def _user(uid: str) -> dict[str, object]:
    return {"id": uid, "email": f"{uid}@example.com", "name": uid, "roles": [], "active": True,
            "password_hash": None, "failed_logins": 0, "locked_until": None, "created_at": AT}


def _event(n: int) -> AuditEvent:
    return AuditEvent(type="test.event", actor="system", at=AT, data={"n": n})


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_waiting_writes_are_seen_by_every_later_read(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.tokens.touch("tok_none", AT)  # an UPDATE by key: waits
        uow.agents._insert_row(t.users, _user("usr_a"))
        assert len(uow._behind or []) == 2  # nothing sent yet
        assert uow.humans.get("usr_a") is not None  # driver read: flushed with it
        assert len(uow._behind or []) == 0
        uow.humans._insert_row(t.users, _user("usr_b"))
        # A statement through SQLAlchemy itself flushes first, so it sees the write too.
        assert uow.humans.by_email("usr_b@example.com") is not None
        uow.record(_event(1))
        uow.record(_event(2))
        uow.commit()
    assert _count(engine, t.users) == 2
    with engine.connect() as conn:
        head = conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)).one()
        seqs = list(conn.execute(sa.select(t.audit_events.c.seq).order_by(
            t.audit_events.c.seq)).scalars())
    assert seqs == [1, 2] and head.seq == 2 and head.hash


def test_a_failing_write_fails_the_commit_and_nothing_lands(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.humans._insert_row(t.users, _user("usr_a"))
        uow.commit()
    with pytest.raises(sa.exc.IntegrityError), SqlUnitOfWork(engine) as uow:
        uow.humans._insert_row(t.users, _user("usr_b"))
        uow.humans._insert_row(t.users, {**_user("usr_c"), "id": "usr_a"})
        uow.record(_event(1))
        uow.commit()
    assert _count(engine, t.users) == 1
    assert _count(engine, t.audit_events) == 0
    with SqlUnitOfWork(engine) as uow:  # the connection is usable again
        uow.record(_event(2))
        uow.commit()
    assert _count(engine, t.audit_events) == 1


def test_rolled_back_writes_never_leave(engine: sa.Engine) -> None:
    row = _user("usr_a")
    with SqlUnitOfWork(engine) as uow:
        uow.humans._insert_row(t.users, row)
        uow.rollback()
    with SqlUnitOfWork(engine) as uow:  # a refusal keeps only its own event
        uow.humans._insert_row(t.users, row)
        uow.record_refusal(_event(1))
    with SqlUnitOfWork(engine) as uow:  # left without a commit
        uow.humans._insert_row(t.users, row)
    assert _count(engine, t.users) == 0
    assert _count(engine, t.audit_events) == 1


def test_read_only_units_without_a_transaction(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine, readonly=True, transaction=False) as uow:
        assert uow.connection.connection.driver_connection.autocommit  # type: ignore[union-attr]
        assert uow.humans.get("usr_none") is None
    with SqlUnitOfWork(engine, readonly=True) as uow:  # the pooled connection is reset
        assert not uow.connection.connection.driver_connection.autocommit  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="read-only"):
        SqlUnitOfWork(engine, transaction=False)


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())


def _terminate(pid: int) -> None:
    killer = sa.create_engine(PG_URL)
    with killer.connect() as conn:
        conn.exec_driver_sql(f"select pg_terminate_backend({pid})")
    killer.dispose()


def test_only_idle_connections_are_pinged_and_dead_ones_replaced(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    pid = _backend_pid(engine)
    with engine.connect():
        pass
    assert pings == []  # used a moment ago: no round trip spent on a ping
    _terminate(pid)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with SqlUnitOfWork(engine, readonly=True) as uow:  # pinged, found dead, replaced
        assert uow.humans.get("usr_none") is None
    assert len(pings) >= 1
    assert _backend_pid(engine) != pid


def test_a_connection_lost_mid_unit_is_a_503_and_the_next_unit_works(
        engine: sa.Engine) -> None:
    pid = _backend_pid(engine)
    with pytest.raises(Unavailable), SqlUnitOfWork(engine) as uow:
        _terminate(pid)
        uow.humans.get("usr_none")
    with SqlUnitOfWork(engine) as uow:  # the broken connection was not handed out again
        uow.record(_event(1))
        uow.commit()
    assert _count(engine, t.audit_events) == 1
