"""What every repository shares: one connection, and the hot one-row statements (select by
key, insert, update by key) compiled once and run on the driver cursor (see ``driver.py``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.driver import (
    insert_statement,
    insert_unless_statement,
    select_statement,
    update_statement,
)
from signoff.adapters.db.engine import is_postgres

__all__ = ["Repository"]

class Repository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._pg = is_postgres(conn)

    def _one(self, table: sa.Table, column: str, value: Any, for_update: bool = False) -> Any:
        # SQLite has one writer at a time (BEGIN IMMEDIATE), so row locks are PostgreSQL-only.
        stmt = select_statement(table, column, self.conn.dialect,
                                for_update=for_update and self._pg)
        return stmt.first(self.conn, {"key": value})

    def _insert_row(self, table: sa.Table, values: dict[str, Any]) -> None:
        insert_statement(table, tuple(values), self.conn.dialect).execute(self.conn, values)

    def _insert_row_unless(self, table: sa.Table, values: dict[str, Any],
                           unique: tuple[str, ...]) -> bool:
        """Insert unless a row with the same ``unique`` values exists; True when inserted."""
        stmt = insert_unless_statement(table, tuple(values), unique, self.conn.dialect)
        return stmt.first(self.conn, values) is not None

    def _update(self, table: sa.Table, column: str, value: Any, **values: Any) -> None:
        update_statement(table, column, tuple(values), self.conn.dialect).execute(
            self.conn, {"_key": value, **values})

    def _lock(self, stmt: Any, for_update: bool) -> Any:
        if for_update and self._pg:
            return stmt.with_for_update()
        return stmt
