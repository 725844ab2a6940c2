"""What every repository shares: one connection and statements built once.

Building SQLAlchemy statements per call (``.where(col == value)``) costs more than running them
on SQLite; a statement object reused with bind parameters hits the compiled cache.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.driver import insert_statement, select_statement
from signoff.adapters.db.engine import is_postgres

__all__ = ["Repository", "select_by", "update_by"]

_SELECT_BY: dict[tuple[str, str, bool], Any] = {}
_UPDATE_BY: dict[tuple[str, str], Any] = {}


def select_by(table: sa.Table, column: str, for_update: bool = False) -> Any:
    """A prebuilt ``SELECT * FROM table WHERE column = :key``: built once, its SQL compiled once.

    Building statements per call (``.where(col == value)``) costs more than running them on
    SQLite; a statement object reused with bind parameters hits SQLAlchemy's compiled cache.
    """
    key = (table.name, column, for_update)
    stmt = _SELECT_BY.get(key)
    if stmt is None:
        stmt = sa.select(table).where(table.c[column] == sa.bindparam("key"))
        if for_update:
            stmt = stmt.with_for_update()
        _SELECT_BY[key] = stmt
    return stmt


def update_by(table: sa.Table, column: str) -> Any:
    key = (table.name, column)
    stmt = _UPDATE_BY.get(key)
    if stmt is None:
        stmt = table.update().where(table.c[column] == sa.bindparam("_key"))
        _UPDATE_BY[key] = stmt
    return stmt


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

    def _update(self, table: sa.Table, column: str, value: Any, **values: Any) -> Any:
        return self.conn.execute(update_by(table, column), {"_key": value, **values})

    def _lock(self, stmt: Any, for_update: bool) -> Any:
        if for_update and self._pg:
            return stmt.with_for_update()
        return stmt
