"""The SQL unit of work: one connection, one transaction, the audit events sealed at commit.

Sealing inside the transaction (``audit_head`` locked, ``seq`` and ``hash`` assigned, events
inserted, head moved) keeps ``seq`` gapless and in commit order across processes, and makes an
event visible exactly when the state change it records is: both commit or neither does.
Waiters are woken after commit only; on PostgreSQL NOTIFY rides the same transaction, so other
processes hear of a change when, and only when, it is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.action_repositories import (
    SqlActionRepository,
    SqlAuditRepository,
    SqlGrantRepository,
    SqlOutcomeRepository,
    SqlReviewRepository,
)
from signoff.adapters.db.chain_sql import sealing_statements
from signoff.adapters.db.driver import insert_statement, select_statement, update_statement
from signoff.adapters.db.engine import READONLY_OPTION, is_postgres
from signoff.adapters.db.outbox_store import SqlOutboxRepository
from signoff.adapters.db.policy_store import SqlElevationRepository, SqlShadowRepository
from signoff.adapters.db.repositories import (
    SqlAgentRepository,
    SqlGroupRepository,
    SqlHumanRepository,
    SqlTokenRepository,
    SqlWorkflowRepository,
)
from signoff.adapters.db.write_behind import WRITE_BEHIND, WriteBehind
from signoff.adapters.db.writer_lock import SqliteWriterLock, writer_lock_for
from signoff.domain.audit import AuditEvent, chain_hash, event_body
from signoff.errors import Unavailable

__all__ = ["SqlUnitOfWork", "WAKE_CHANNEL"]

WAKE_CHANNEL = "signoff_wake"

def _writer_lock(engine: sa.Engine) -> SqliteWriterLock | None:
    if engine.dialect.name != "sqlite":
        return None
    return writer_lock_for(engine.url.database)


class SqlUnitOfWork:
    humans: SqlHumanRepository
    agents: SqlAgentRepository
    workflows: SqlWorkflowRepository
    groups: SqlGroupRepository
    tokens: SqlTokenRepository
    actions: SqlActionRepository
    reviews: SqlReviewRepository
    grants: SqlGrantRepository
    outcomes: SqlOutcomeRepository
    audit: SqlAuditRepository
    elevations: SqlElevationRepository
    shadow: SqlShadowRepository

    def __init__(self, engine: sa.Engine, *, readonly: bool = False, transaction: bool = True,
                 on_commit: Callable[[list[str]], None] | None = None,
                 chain_enabled: bool = True) -> None:
        """``transaction=False`` (read-only units only): reads that need no transaction of
        their own, such as a single lookup; on PostgreSQL they run in autocommit. Units that
        ask for a snapshot or a server-side cursor must keep the transaction."""
        if not transaction and not readonly:
            raise ValueError("only a read-only unit of work may go without a transaction")
        self._engine = engine
        self._readonly = readonly
        self._transaction = transaction
        self._on_commit = on_commit
        self._chain = chain_enabled
        self._events: list[AuditEvent] = []
        self._wake: list[str] = []
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self._lock = None if readonly else _writer_lock(engine)
        self._locked = False
        self._behind: WriteBehind | None = None  # PostgreSQL writing units only
        self.committed = False

    def __enter__(self) -> SqlUnitOfWork:
        try:
            conn = self._engine.connect()
        except sa.exc.OperationalError as exc:  # the database is down: fail closed, say so
            raise Unavailable("the database cannot be reached") from exc
        pg = is_postgres(conn)
        if self._readonly:
            options: dict[str, Any] = {READONLY_OPTION: True}
            if pg and not self._transaction:
                # Each statement stands alone (READ COMMITTED gives it its own snapshot
                # anyway), so BEGIN and ROLLBACK would be two round trips that buy nothing.
                options["isolation_level"] = "AUTOCOMMIT"
            conn = conn.execution_options(**options)
        self._conn = conn
        if self._lock is not None:
            self._lock.acquire()
            self._locked = True
        try:
            self._tx = conn.begin()
        except BaseException:
            self._release()
            conn.close()
            raise
        if pg and not self._readonly:
            self._behind = conn.info[WRITE_BEHIND] = WriteBehind(conn)
        self.humans = SqlHumanRepository(conn)
        self.agents = SqlAgentRepository(conn)
        self.workflows = SqlWorkflowRepository(conn)
        self.groups = SqlGroupRepository(conn)
        self.tokens = SqlTokenRepository(conn)
        self.actions = SqlActionRepository(conn)
        self.reviews = SqlReviewRepository(conn)
        self.grants = SqlGrantRepository(conn)
        self.outcomes = SqlOutcomeRepository(conn)
        self.audit = SqlAuditRepository(conn)
        self.elevations = SqlElevationRepository(conn)
        self.shadow = SqlShadowRepository(conn)
        return self

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        try:
            self._end()
        finally:
            if isinstance(error, sa.exc.OperationalError):
                # The database went away or gave up mid-unit (connection lost, deadlock,
                # timeout): a 503 the caller may retry (proposals carry idempotency keys),
                # not a 500.
                raise Unavailable("the database did not complete the request") from error

    def _end(self) -> None:
        try:
            if self._behind is not None:
                self._behind.discard()
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self._release()
            if self._conn is not None:
                self._conn.info.pop(WRITE_BEHIND, None)
                self._conn.close()
            self._conn = None
            self._behind = None

    def _release(self) -> None:
        if self._locked and self._lock is not None:
            self._locked = False
            self._lock.release()

    @property
    def outbox(self) -> SqlOutboxRepository:
        # Built when asked for, not in __enter__: most units (every allowed proposal) never
        # touch the outbox and should not pay for it.
        return SqlOutboxRepository(self.connection)

    @property
    def connection(self) -> sa.Connection:
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    def record(self, event: AuditEvent) -> None:
        self._events.append(event)

    def wake(self, action_id: str) -> None:
        self._wake.append(action_id)

    def record_refusal(self, event: AuditEvent) -> None:
        """Throw away this unit's changes and commit only the refusal event.

        Refusals are recorded even though the request changes nothing. A read-only unit (a
        deferred transaction on SQLite) writes through a fresh writing unit instead, so it never
        has to upgrade a stale read snapshot.
        """
        if self._readonly or self._conn is None:
            with SqlUnitOfWork(self._engine, chain_enabled=self._chain) as writer:
                writer.record(event)
                writer.commit()
            return
        if self._behind is not None:
            self._behind.discard()
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
        self._events, self._wake = [event], []
        if self._lock is not None and not self._locked:
            self._lock.acquire()
            self._locked = True
        self._tx = self._conn.begin()
        self.commit()

    def commit(self) -> None:
        assert self._tx is not None and self._conn is not None
        if self._behind is not None:
            # PostgreSQL: the waiting writes, the events, NOTIFY and COMMIT in one round trip
            # (two where the events are sealed in Python; see write_behind.py).
            conn = self._conn
            seal = None
            if self._events:
                seal = self._seal_in_sql if self._chain and self._behind.utf8 else \
                    (lambda: self._seal(conn))
            self._behind.commit(seal,
                                [(WAKE_CHANNEL, a) for a in dict.fromkeys(self._wake)])
        elif self._events:
            self._seal(self._conn)
        self._tx.commit()
        self._tx = None  # one commit per unit of work: the SQLite write lock ends here
        self._release()
        self.committed = True
        woken, self._wake, self._events = list(dict.fromkeys(self._wake)), [], []
        if woken and self._on_commit is not None:
            self._on_commit(woken)

    def rollback(self) -> None:
        if self._behind is not None:
            self._behind.discard()
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
        self._tx = None
        self._events, self._wake = [], []

    def _seal_in_sql(self) -> None:
        """PostgreSQL: the events wait for the commit's flight and are chained by the server
        (``chain_sql.py``): no round trip to fetch the head, no lock held across one."""
        assert self._behind is not None
        for sql, params in sealing_statements(self._events, self.connection.dialect):
            self._behind.defer(sql, params)

    def _seal(self, conn: sa.Connection) -> None:
        """Lock the head, then write the events after it and move it. On PostgreSQL the head's
        read is the one answer the seal waits for; the writes wait for the commit's flight."""
        dialect = conn.dialect
        head = select_statement(t.audit_head, "id", dialect, for_update=True).first(
            conn, {"key": 1})
        seq, last, rows = self._sealed_rows(head.seq, head.hash)
        insert_statement(t.audit_events, _EVENT_COLUMNS, dialect).execute_many(conn, rows)
        update_statement(t.audit_head, "id", ("seq", "hash"), dialect).execute(
            conn, {"_key": 1, "seq": seq, "hash": last})

    def _sealed_rows(self, seq: int, prev: str) -> tuple[int, str, list[dict[str, Any]]]:
        """The events as audit rows after ``seq``/``prev``; with the new head's seq and hash."""
        rows = []
        for event in self._events:
            seq += 1
            body = event_body(seq=seq, event=event)
            digest = chain_hash(prev, body) if self._chain else ""
            rows.append({"seq": seq, "at": event.at, "actor": event.actor, "type": event.type,
                         "action_id": event.action_id, "agent_id": event.agent_id,
                         "workflow": event.workflow, "body": body.decode(),
                         "prev_hash": prev, "hash": digest})
            prev = digest if self._chain else prev
        return seq, prev, rows


_EVENT_COLUMNS = ("seq", "at", "actor", "type", "action_id", "agent_id", "workflow", "body",
                  "prev_hash", "hash")
