"""The hot statements, run on the database driver's own cursor.

Through SQLAlchemy a one-row statement costs ~21 µs on this machine against ~3 µs on the
``sqlite3`` cursor: the execution context, events and result machinery were a third of a
proposal's CPU. A :class:`DriverStatement` is a Core statement compiled once per dialect, with
the dialect's own bind and result processors for each column (so values are written and read
exactly as SQLAlchemy would), executed on the driver connection inside the same transaction.
Driver errors are re-raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``, …), so
callers cannot tell the two paths apart. Only plain statements belong here: one table, column
values given explicitly, no Python-side defaults.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from signoff.adapters.db.pg_wire import PgWire, numbered_placeholders
from signoff.adapters.db.write_behind import WRITE_BEHIND, WriteBehind, constraint_of

__all__ = ["DriverStatement", "JoinedSelect", "insert_statement", "insert_unless_statement",
           "joined_select", "select_statement", "update_statement"]

Processor = Callable[[Any], Any] | None


class DriverStatement:
    def __init__(self, stmt: Any, dialect: sa.Dialect, binds: dict[str, sa.types.TypeEngine[Any]],
                 selected: Sequence[sa.ColumnElement[Any]] = ()) -> None:
        compiled = stmt.compile(dialect=dialect)
        self._dialect = dialect
        self._pg = dialect.name == "postgresql"
        self.sql: Any
        if self._pg:  # numbered placeholders for libpq (pg_wire.py), values in their order
            self.sql, names = numbered_placeholders(compiled.string)
            self._positional = True
        else:
            self.sql = compiled.string
            self._positional = bool(compiled.positional)
            names = list(compiled.positiontup or []) if self._positional else list(binds)
        missing = [n for n in names if n not in binds]
        if missing:
            raise ValueError(f"no type for bind parameters {missing}")
        self._names = names
        self._bind = [(n, _processor(binds[n], dialect, bind=True)) for n in names]
        self._row = namedtuple("Row", [c.key for c in selected], rename=True)  # type: ignore[misc]
        self._result = [_processor(c.type, dialect, bind=False) for c in selected]
        self._convert_rows = any(p is not None for p in self._result)

    def params(self, values: dict[str, Any]) -> Any:
        """The driver's parameters for ``values``, through the dialect's bind processors."""
        if self._positional:
            return tuple(values[n] if p is None else p(values[n]) for n, p in self._bind)
        return {n: values[n] if p is None else p(values[n]) for n, p in self._bind}

    def _cursor(self, conn: sa.Connection, params: Any, many: bool = False) -> Any:
        driver = conn.connection.driver_connection
        try:
            if many:
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursor.executemany(self.sql, params)
                return cursor
            return driver.execute(self.sql, params)  # type: ignore[union-attr]
        except self._dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, params, exc,
                                             self._dialect.loaded_dbapi.Error) from exc

    def _exchange(self, conn: sa.Connection, flight: list[tuple[Any, Any]]) -> list[Any]:
        """PostgreSQL outside a writing unit (a read-only unit, a bare connection): the
        statements now, in one round trip."""
        try:
            return PgWire.of(conn).exchange(flight)
        except self._dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql.decode(), flight[-1][1], exc,
                                             self._dialect.loaded_dbapi.Error) from exc

    def execute(self, conn: sa.Connection, values: dict[str, Any], *,
                conflict: tuple[str, Callable[[], Exception]] | None = None) -> None:
        """Run a statement that returns nothing; in a PostgreSQL writing unit it waits to go
        out with the next statement that needs an answer (see ``write_behind.py``), and a
        unique violation of the ``conflict`` constraint then raises the error it names."""
        behind: WriteBehind | None = conn.info.get(WRITE_BEHIND)
        if behind is not None:
            behind.defer(self.sql, self.params(values), conflict=conflict)
            return
        try:
            if self._pg:
                self._exchange(conn, [(self.sql, self.params(values))])
            else:
                self._cursor(conn, self.params(values)).close()
        except sa.exc.IntegrityError as exc:
            if conflict is not None and constraint_of(exc.orig) == conflict[0]:
                raise conflict[1]() from exc
            raise

    def execute_many(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        behind: WriteBehind | None = conn.info.get(WRITE_BEHIND)
        if behind is not None:
            for row in rows:
                behind.defer(self.sql, self.params(row))
        elif self._pg:
            self._exchange(conn, [(self.sql, self.params(r)) for r in rows])
        else:
            self._cursor(conn, [self.params(r) for r in rows], many=True).close()

    def first(self, conn: sa.Connection, values: dict[str, Any]) -> Any:
        if self._pg:
            return self.first_each(conn, [values])[0]
        cursor = self._cursor(conn, self.params(values))
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return self.row(raw)

    def first_each(self, conn: sa.Connection, values: list[dict[str, Any]]) -> list[Any]:
        """:meth:`first` for each of ``values``, in order; on PostgreSQL in one round trip
        (with the writes waiting before it, in a writing unit)."""
        if not self._pg or not values:
            return [self.first(conn, v) for v in values]
        params = [self.params(v) for v in values]
        behind: WriteBehind | None = conn.info.get(WRITE_BEHIND)
        found = behind.fetch_each(self.sql, params) if behind is not None else \
            self._exchange(conn, [(self.sql, p) for p in params])
        return [self.row(rows[0] if rows else None) for rows in found]

    def row(self, raw: Any) -> Any:
        """A driver row as a named row with SQLAlchemy's result processing applied."""
        if raw is None:
            return None
        if self._convert_rows:
            raw = [v if p is None or v is None else p(v) for v, p in zip(raw, self._result,
                                                                        strict=True)]
        return self._row._make(raw)


class JoinedSelect(DriverStatement):
    """Whole rows of several tables (or aliases) in one statement, split back per table.

    For the hot reads that used to be one round trip per table (a token and its subject; an
    agent, the workflow it proposes in and both owners). Each part is ``None`` when its outer
    join found nothing (its primary key came back NULL).
    """

    def __init__(self, build: Callable[[list[Any]], Any], parts: Sequence[Any],
                 dialect: sa.Dialect, binds: dict[str, sa.types.TypeEngine[Any]]) -> None:
        columns = [c for part in parts for c in part.columns]
        labelled = [c.label(f"c{i}") for i, c in enumerate(columns)]
        super().__init__(build(labelled), dialect, binds, labelled)
        self._parts = []
        start = 0
        for part in parts:
            keys = [c.key for c in part.columns]
            pk = keys.index(next(iter(part.primary_key)).key)
            self._parts.append((namedtuple(f"{part.name}_row", keys), start, start + len(keys),
                                start + pk))
            start += len(keys)

    def first_parts(self, conn: sa.Connection, values: dict[str, Any]) -> tuple[Any, ...] | None:
        return self._split(self.first(conn, values))

    def first_parts_each(self, conn: sa.Connection, values: list[dict[str, Any]]
                         ) -> list[tuple[Any, ...] | None]:
        """:meth:`first_parts` for each of ``values``, in order, in one round trip."""
        return [self._split(row) for row in self.first_each(conn, values)]

    def _split(self, row: Any) -> tuple[Any, ...] | None:
        if row is None:
            return None
        return tuple(None if row[pk] is None else make._make(row[begin:end])
                     for make, begin, end, pk in self._parts)


def _processor(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect, *, bind: bool) -> Processor:
    impl = type_.dialect_impl(dialect)
    return impl.bind_processor(dialect) if bind else impl.result_processor(dialect, None)


# One compiled statement per (kind, table, columns, dialect): built on first use.
_CACHE: dict[tuple[Any, ...], DriverStatement] = {}


def select_statement(table: sa.Table, column: str, dialect: sa.Dialect, *,
                     for_update: bool = False) -> DriverStatement:
    """``SELECT * FROM table WHERE column = :key`` (``FOR UPDATE`` where asked)."""
    key = ("select", table.name, column, for_update, dialect.name)
    found = _CACHE.get(key)
    if found is None:
        stmt = sa.select(table).where(table.c[column] == sa.bindparam("key"))
        if for_update:
            stmt = stmt.with_for_update()
        found = _CACHE[key] = DriverStatement(stmt, dialect, {"key": table.c[column].type},
                                              list(table.columns))
    return found


def joined_select(name: str, dialect: sa.Dialect, build: Callable[[list[Any]], Any],
                  parts: Sequence[Any], binds: dict[str, sa.types.TypeEngine[Any]]
                  ) -> JoinedSelect:
    """A :class:`JoinedSelect` compiled once per ``name`` and dialect. ``build`` gets the
    labelled columns to select and returns the statement (joins, where, locks)."""
    key = ("joined", name, dialect.name)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = JoinedSelect(build, parts, dialect, binds)
    assert isinstance(found, JoinedSelect)
    return found


def insert_statement(table: sa.Table, columns: Sequence[str],
                     dialect: sa.Dialect) -> DriverStatement:
    """``INSERT INTO table (columns) VALUES (…)``; every other column must default in SQL."""
    key = ("insert", table.name, tuple(columns), dialect.name)
    found = _CACHE.get(key)
    if found is None:
        skipped = [c.name for c in table.columns if c.name not in columns
                   and (c.default is not None or c.onupdate is not None)]
        if skipped:
            raise ValueError(f"{table.name}: Python-side defaults not run for {skipped}")
        stmt = table.insert().values({c: sa.bindparam(c) for c in columns})
        found = _CACHE[key] = DriverStatement(stmt, dialect,
                                              {c: table.c[c].type for c in columns})
    return found


def insert_unless_statement(table: sa.Table, columns: Sequence[str], unique: Sequence[str],
                            dialect: sa.Dialect) -> DriverStatement:
    """``INSERT … ON CONFLICT (unique) DO NOTHING RETURNING`` the first column: ``first()`` is
    None when a row with those unique values exists. No error is raised, so the transaction
    stays usable on PostgreSQL without a savepoint."""
    key = ("insert_unless", table.name, tuple(columns), tuple(unique), dialect.name)
    found = _CACHE.get(key)
    if found is None:
        insert_statement(table, columns, dialect)  # the same refusal of skipped defaults
        build = pg_insert if dialect.name == "postgresql" else sqlite_insert
        returned = table.c[columns[0]]
        stmt = build(table).values({c: sa.bindparam(c) for c in columns}).on_conflict_do_nothing(
            index_elements=list(unique)).returning(returned)
        found = _CACHE[key] = DriverStatement(stmt, dialect,
                                              {c: table.c[c].type for c in columns}, [returned])
    return found


def update_statement(table: sa.Table, where: str, columns: Sequence[str],
                     dialect: sa.Dialect) -> DriverStatement:
    """``UPDATE table SET columns WHERE where = :_key``."""
    key = ("update", table.name, where, tuple(columns), dialect.name)
    found = _CACHE.get(key)
    if found is None:
        stmt = table.update().where(table.c[where] == sa.bindparam("_key")).values(
            {c: sa.bindparam(c) for c in columns})
        binds = {c: table.c[c].type for c in columns}
        binds["_key"] = table.c[where].type
        found = _CACHE[key] = DriverStatement(stmt, dialect, binds)
    return found
