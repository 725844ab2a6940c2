"""PostgreSQL at the libpq level for the hot statements: a flight of statements, one wait.

Through a psycopg cursor a statement costs ~60 µs of Python on this machine (execution
generators, a poll per statement in pipeline mode, a cursor and its results), and an allowed
proposal runs about ten of them, which made PostgreSQL's CPU per proposal twice SQLite's. A
:class:`PgWire` writes a whole flight to libpq in pipeline mode and waits once, at the sync.
Values go through psycopg's own :class:`~psycopg.adapt.Transformer` (the dumpers and loaders
its cursors use, with this connection's adapters), all as text so the server types each
parameter from its column; each statement is prepared once per connection; and a transaction
is begun inside the first flight, not by a round trip of its own.

The psycopg connection stays the owner of the socket: a flight starts and ends with libpq
outside pipeline mode and every result read, so psycopg (and SQLAlchemy through it) sees the
transaction state libpq reports and carries on, committing or rolling back as usual. Errors
come back as psycopg's own exceptions, raised once the whole flight has been read.
"""

from __future__ import annotations

import re
import select
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq.abc import PGresult

__all__ = ["PgWire", "numbered_placeholders"]

Statement = tuple[bytes, Sequence[Any]]
"""SQL with ``$n`` placeholders (as bytes) and its parameters, in order."""

_WIRE = "signoff_pg_wire"  # key in the DBAPI connection's record info
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
# invalid_sql_statement_name ("prepared statement … does not exist"), feature_not_supported
# ("cached plan must not change result type")
_STATEMENTS_LOST = frozenset({"26000", "0A000"})
_PYFORMAT = re.compile(r"%\((?P<name>[^)]+)\)s|%%")


def numbered_placeholders(sql: str) -> tuple[bytes, list[str]]:
    """``%(name)s`` placeholders (psycopg's pyformat, as SQLAlchemy compiles them) as ``$n``,
    and the parameter names in ``$n`` order; a name used twice keeps one number."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group("name")
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _PYFORMAT.sub(number, sql).encode(), order


class PgWire:
    """The hot path's way to one psycopg connection (see the module's docstring)."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.driver = driver
        self._pg = driver.pgconn
        self._values = Transformer(driver)
        self._rows = Transformer(driver)
        self._encoding = driver.info.encoding
        self.server_utf8 = driver.info.parameter_status("server_encoding") == "UTF8"
        self._names: dict[bytes, bytes] = {}  # SQL -> name of its prepared statement
        self._made = 0
        self._poll = select.poll()
        self._fd = self._pg.socket

    @classmethod
    def of(cls, conn: sa.Connection) -> PgWire:
        """The wire of this connection's driver connection, made on first use and kept for
        the driver connection's life (its prepared statements live as long)."""
        record = conn.connection
        driver = record.driver_connection
        wire = record.info.get(_WIRE)
        if wire is None or wire.driver is not driver:
            wire = record.info[_WIRE] = cls(driver)  # type: ignore[arg-type]
        return wire  # type: ignore[no-any-return]

    def exchange(self, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
        """Run ``statements`` in one round trip, in order; each one's rows (``[]`` for a
        command). A transaction is begun first where psycopg would begin one. The first
        statement that fails raises its psycopg error after the flight is read; the ones
        after it did not run."""
        # Everything that can fail on this side fails here, before a byte is sent.
        dumped = [(sql, self._dump(params)) for sql, params in statements]
        begin = self._begin_command()
        pg = self._pg
        # (kind, sql): kind is "begin", "prepare" or "run"; one entry per result expected.
        sent: list[tuple[str, bytes]] = []
        pg.enter_pipeline_mode()
        try:
            if begin is not None:
                pg.send_query_params(begin, None)
                sent.append(("begin", begin))
            for sql, values in dumped:
                if not values:
                    pg.send_query_params(sql, None)
                else:
                    name = self._names.get(sql)
                    if name is None:
                        self._made += 1
                        name = self._names[sql] = b"signoff_%d" % self._made
                        pg.send_prepare(name, sql, None)
                        sent.append(("prepare", sql))
                    pg.send_query_prepared(name, values)
                sent.append(("run", sql))
            pg.pipeline_sync()
            results = self._read()
        finally:
            self._leave_pipeline()
        return self._answer(sent, results)

    def _dump(self, params: Sequence[Any]) -> Sequence[bytes | None]:
        if not params:
            return ()
        return self._values.dump_sequence(params, [PyFormat.TEXT] * len(params))  # type: ignore[return-value]

    def _begin_command(self) -> bytes | None:
        driver = self.driver
        if driver.autocommit or self._pg.transaction_status != pq.TransactionStatus.IDLE:
            return None
        parts = [b"BEGIN"]
        if driver.isolation_level is not None:
            parts.append(b"ISOLATION LEVEL " + driver.isolation_level.name.replace(
                "_", " ").encode())
        if driver.read_only is not None:
            parts.append(b"READ ONLY" if driver.read_only else b"READ WRITE")
        if driver.deferrable is not None:
            parts.append(b"DEFERRABLE" if driver.deferrable else b"NOT DEFERRABLE")
        return b" ".join(parts)

    def _read(self) -> list[PGresult]:
        """Send the flight and read every result up to the sync; one per command sent."""
        pg = self._pg
        while pg.flush():  # the output did not all fit: read while writing, never deadlock
            if self._wait(select.POLLIN | select.POLLOUT) & select.POLLIN:
                pg.consume_input()
        results: list[PGresult] = []
        last: PGresult | None = None
        while True:
            while pg.is_busy():
                self._wait(select.POLLIN)
                pg.consume_input()
            result = pg.get_result()
            if result is None:  # the end of one command's results
                if last is not None:
                    results.append(last)
                last = None
                continue
            if result.status == pq.ExecStatus.PIPELINE_SYNC:  # not followed by None
                return results
            last = result

    def _wait(self, events: int) -> int:
        self._poll.register(self._fd, events)  # registering again replaces the events
        while True:
            ready = self._poll.poll()
            if ready:
                return ready[0][1]

    def _leave_pipeline(self) -> None:
        pg = self._pg
        if pg.pipeline_status == pq.PipelineStatus.OFF:
            return
        try:
            pg.exit_pipeline_mode()
        except psycopg.Error:
            # Results left unread (the connection failed mid-flight): it cannot be trusted
            # with another statement, so it is closed and the pool replaces it.
            self._names.clear()
            self.driver.close()

    def _answer(self, sent: list[tuple[str, bytes]], results: list[PGresult]
                ) -> list[list[tuple[Any, ...]]]:
        if len(results) != len(sent):
            self.driver.close()
            raise psycopg.OperationalError(
                f"expected {len(sent)} results from PostgreSQL, got {len(results)}")
        failed: PGresult | None = None
        answers: list[list[tuple[Any, ...]]] = []
        for (kind, sql), result in zip(sent, results, strict=True):
            ok = result.status in _OK
            if not ok and failed is None and result.status == pq.ExecStatus.FATAL_ERROR:
                failed = result
            if kind == "prepare":
                if not ok:  # not prepared (it failed, or the flight stopped before it)
                    self._names.pop(sql, None)
            elif kind == "run":
                answers.append(self._load(result) if ok else [])
        if failed is not None:
            error = psycopg.errors.error_from_result(failed, encoding=self._encoding)
            if error.sqlstate in _STATEMENTS_LOST:
                # Something dropped or outdated this session's prepared statements (a
                # DEALLOCATE ALL, a changed table): prepare afresh from the next flight on,
                # and fail this one as the database not completing it, which callers retry.
                self._names.clear()
                raise psycopg.OperationalError(
                    f"prepared statements were lost and are prepared again: {error}"
                ) from error
            raise error
        return answers

    def _load(self, result: PGresult) -> list[tuple[Any, ...]]:
        if result.status != pq.ExecStatus.TUPLES_OK or not result.ntuples:
            return []
        rows = self._rows
        rows.set_pgresult(result)
        try:
            return rows.load_rows(0, result.ntuples, tuple)
        finally:
            rows.set_pgresult(None)
