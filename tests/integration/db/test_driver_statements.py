"""Statements run on the driver's cursor write and read exactly what SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.driver import insert_statement, select_statement, update_statement
from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade

AT = datetime(2026, 11, 30, 6, 7, 8, 123456, tzinfo=UTC)


def _user(uid: str, **over: object) -> dict[str, object]:
    return {"id": uid, "email": f"{uid}@example.com", "name": "Zoë \u202e", "roles": ["owner"],
            "active": True, "password_hash": None, "failed_logins": 0, "locked_until": AT,
            "created_at": AT, **over}


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = create_engine(db_url, pool_size=2)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_rows_round_trip_both_ways(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        dialect = conn.dialect
        row = _user("usr_fast", roles=["admin", "reviewer"], active=False)
        insert_statement(t.users, tuple(row), dialect).execute(conn, row)
        conn.execute(t.users.insert(), _user("usr_sa"))
        # What SQLAlchemy reads from a row the driver wrote, and the other way round.
        by_sa = conn.execute(sa.select(t.users).where(t.users.c.id == "usr_fast")).one()
        assert by_sa._asdict() == row
        fast = select_statement(t.users, "id", dialect).first(conn, {"key": "usr_sa"})
        assert fast._asdict() == _user("usr_sa") == conn.execute(
            sa.select(t.users).where(t.users.c.id == "usr_sa")).one()._asdict()
        assert fast.locked_until == AT and fast.locked_until.tzinfo is not None
        assert select_statement(t.users, "id", dialect).first(conn, {"key": "nope"}) is None
        update_statement(t.users, "id", ("failed_logins", "roles"), dialect).execute(
            conn, {"_key": "usr_sa", "failed_logins": 3, "roles": []})
        assert conn.execute(sa.select(t.users.c.failed_logins, t.users.c.roles).where(
            t.users.c.id == "usr_sa")).one() == (3, [])


def test_many_rows_in_one_statement(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = [{"seq": n, "at": AT, "actor": "a", "type": "t", "action_id": None,
                 "agent_id": None, "workflow": None, "body": "{}", "prev_hash": "0",
                 "hash": str(n)} for n in (1, 2, 3)]
        insert_statement(t.audit_events, tuple(rows[0]), conn.dialect).execute_many(conn, rows)
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_events)).scalar() == 3


def test_driver_errors_surface_as_sqlalchemy_errors(engine: sa.Engine) -> None:
    with engine.connect() as conn, conn.begin():
        row = _user("usr_dup")
        stmt = insert_statement(t.users, tuple(row), conn.dialect)
        stmt.execute(conn, row)
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            stmt.execute(conn, row)
        # The savepoint rolled back only the failed insert; the transaction goes on.
        assert select_statement(t.users, "id", conn.dialect).first(
            conn, {"key": "usr_dup"}) is not None


def test_python_side_defaults_are_never_skipped(engine: sa.Engine) -> None:
    defaulted = [c.name for c in t.users.columns if c.default is not None]
    assert defaulted, "the users table is expected to have Python-side defaults"
    with pytest.raises(ValueError, match="defaults"):
        insert_statement(t.users, ("id", "email", "name", "roles", "created_at"),
                         engine.dialect)
