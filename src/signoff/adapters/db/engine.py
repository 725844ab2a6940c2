"""Engines and the few places where SQLite and PostgreSQL differ.

SQLite: WAL, ``synchronous=NORMAL``, a busy timeout, and ``BEGIN IMMEDIATE`` for writing units of
work so two writers queue on the lock instead of failing on upgrade. PostgreSQL: row locks with
``SELECT … FOR UPDATE``, and NOTIFY (delivered only on commit) to wake waiters in other processes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from signoff.adapters.db.write_behind import flush_before_sqlalchemy

__all__ = ["create_engine", "insert_ignore", "is_postgres"]

READONLY_OPTION = "signoff_readonly"


def create_engine(url: str, *, pool_size: int = 20) -> sa.Engine:
    codec = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
            poolclass=sa.pool.QueuePool, **codec,
        )
        _tune_sqlite(engine)
        return engine
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, **codec)
    _tune_postgres(engine)
    return engine


# JSON columns through orjson (several per proposal). Values orjson would take but the standard
# library refuses (datetimes, dataclasses) still go to json.dumps and are refused as before, and
# text that orjson cannot read (NaN) is read by json.loads. orjson writes NaN as null; params
# holding NaN never get here (canonicalisation refuses them).
_ORJSON_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_ORJSON_STRICT).decode()
    except TypeError:
        return json.dumps(value)


def _json_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _tune_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        readonly = conn.get_execution_options().get(READONLY_OPTION, False)
        # Straight to the driver: a statement through SQLAlchemy costs several times the BEGIN.
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN" if readonly else "BEGIN IMMEDIATE")


# A pooled connection that sat unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _tune_postgres(engine: sa.Engine) -> None:
    """Check connections that sat idle, let writes wait for the next statement, and keep the
    hot statements prepared.

    ``pool_pre_ping`` pinged on every checkout: a round trip per unit of work (three per
    gated call) to learn that a connection used a millisecond ago still works. A connection
    goes stale while it sits idle (a server restart, a firewall's idle timeout), so only those
    are pinged; one that fails is replaced before anyone sees it. A connection that breaks in
    use is invalidated by SQLAlchemy, or by the driver path (``driver.py``).
    """
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The hot statements are prepared by pg_wire.py. psycopg's own preparing would send
        # DEALLOCATE ALL after every rollback, which drops those too.
        dbapi_conn.prepare_threshold = None

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if getattr(dbapi_conn, "broken", False) or getattr(dbapi_conn, "closed", False):
            raise sa.exc.DisconnectionError("connection lost while pooled")
        if since is not None and time.monotonic() - since > PING_AFTER_IDLE_SECONDS:
            try:
                alive = engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:  # noqa: BLE001 - any failure: let the pool replace it
                raise sa.exc.DisconnectionError(str(exc)) from exc
            if not alive:
                raise sa.exc.DisconnectionError("connection did not answer a ping")

    sa.event.listen(engine, "before_cursor_execute", flush_before_sqlalchemy)


def is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def insert_ignore(conn: sa.Connection, table: sa.Table, values: dict[str, Any],
                  index_elements: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted."""
    stmt: Any
    if is_postgres(conn):
        stmt = pg_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=index_elements)
    else:
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=index_elements)
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    key = table.c[index_elements[0]]
    return conn.execute(stmt.returning(key)).first() is not None
