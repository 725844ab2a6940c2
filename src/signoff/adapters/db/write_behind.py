"""Fewer round trips to PostgreSQL: writes wait and leave with the next statement.

A proposal used to make fifteen round trips to PostgreSQL (each statement, the commit, a ping
at checkout), and at ~0.1-0.3 ms each on a busy host they were most of its time. In a writing
unit of work on PostgreSQL, a driver-level write that returns nothing (an INSERT or UPDATE
with no RETURNING) is not sent at once: it waits in a :class:`WriteBehind` and goes out in
one flight together with the next statement that needs an answer, which waits for all of them
in one round trip (``pg_wire.py``, which also begins the transaction in the unit's first
flight). The commit sends what is left, the audit events (chained by the server:
``chain_sql.py``) and ``COMMIT`` in one more. Order is kept, so every read sees the unit's
earlier writes, exactly as before.

What changes is *when* a failing write raises: at the next read or at commit rather than at the
write itself. Nothing in a unit of work may depend on catching a write's error where it was
made; a write whose unique violation has a meaning registers it (``conflict=``), and the
flush raises that error instead (the idempotency key of a proposal).

SQLite has no round trips to save (it is in process), so it never uses this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.pg_wire import PgWire

__all__ = ["WRITE_BEHIND", "WriteBehind", "constraint_of", "flush_before_sqlalchemy"]

# The key under which a writing unit of work keeps its WriteBehind in ``Connection.info``.
WRITE_BEHIND = "signoff_write_behind"


class WriteBehind:
    """Writes of one PostgreSQL transaction that have not been sent yet."""

    def __init__(self, conn: sa.Connection) -> None:
        self._wire = PgWire.of(conn)
        self._dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
        self._pending: list[tuple[bytes, Any]] = []
        # constraint name -> the error a unique violation of it stands for
        self._conflicts: dict[str, Callable[[], Exception]] = {}

    @property
    def utf8(self) -> bool:
        """Whether the server's encoding is UTF8 (the audit chain can be sealed in SQL)."""
        return self._wire.server_utf8

    def __len__(self) -> int:
        return len(self._pending)

    def defer(self, sql: bytes, params: Any, *,
              conflict: tuple[str, Callable[[], Exception]] | None = None) -> None:
        self._pending.append((sql, params))
        if conflict is not None:
            self._conflicts[conflict[0]] = conflict[1]

    def discard(self) -> None:
        """The transaction is rolled back: what was not sent never happened."""
        self._pending.clear()
        self._conflicts.clear()

    def fetch_each(self, sql: bytes, params: list[Any]) -> list[list[Any]]:
        """The waiting writes and this statement once per ``params``, in one round trip; the
        rows of each run, in order."""
        self._pending.extend((sql, p) for p in params)
        return self._send()[-len(params):] if params else []

    def flush(self) -> None:
        if self._pending:
            self._send()

    def commit(self, seal: Callable[[], None] | None,
               notify: list[tuple[str, str]]) -> None:
        """Commit in one round trip (two where the events are sealed in Python).

        ``seal`` leaves the audit events waiting: chained by the server (``chain_sql.py``), or,
        sealed in Python, after the locked head it reads (that read sends what waits first).
        The notifications and ``COMMIT`` follow in the same flight.
        ``COMMIT`` is sent as a statement so the driver then sees an idle connection and the
        SQLAlchemy commit that follows costs nothing.
        """
        if seal is not None:
            seal()
        for channel, payload in notify:
            self._pending.append((_NOTIFY, (channel, payload)))
        self._pending.append((b"COMMIT", ()))
        self._send()

    def _send(self) -> list[Any]:
        pending, self._pending = self._pending, []
        last = pending[-1]
        with self._errors(last[0].decode(), last[1]):
            return self._wire.exchange(pending)

    def _errors(self, sql: str, params: Any) -> _TranslateErrors:
        return _TranslateErrors(self, sql, params)


_NOTIFY = b"SELECT pg_notify($1, $2)"


class _TranslateErrors:
    """Driver errors leave as SQLAlchemy's (as on the rest of the driver path), and a unique
    violation that a write registered leaves as the error it stands for."""

    def __init__(self, owner: WriteBehind, sql: str, params: Any) -> None:
        self._owner, self._sql, self._params = owner, sql, params

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        owner = self._owner
        if exc is None or not isinstance(exc, owner._dbapi_error):
            return False
        owner._pending.clear()
        meaning = owner._conflicts.get(constraint_of(exc) or "")
        if meaning is not None:
            raise meaning() from exc
        raise sa.exc.DBAPIError.instance(self._sql, self._params, exc,  # type: ignore[arg-type]
                                         owner._dbapi_error) from exc


def constraint_of(exc: BaseException | None) -> str | None:
    """The constraint a driver error names (psycopg's diagnostics), if any."""
    return getattr(getattr(exc, "diag", None), "constraint_name", None)


def flush_before_sqlalchemy(conn: sa.Connection, *_: Any) -> None:
    """``before_cursor_execute`` hook: a statement sent through SQLAlchemy itself first sends
    the writes waiting before it, so it sees them."""
    pending: WriteBehind | None = conn.info.get(WRITE_BEHIND)
    if pending is not None and len(pending):
        pending.flush()
