"""SQLAlchemy's pyformat placeholders as libpq's numbered ones (pg_wire.py)."""

from __future__ import annotations

from signoff.adapters.db.pg_wire import numbered_placeholders


def test_names_are_numbered_in_order_of_first_use() -> None:
    sql, names = numbered_placeholders(
        "UPDATE t SET a=%(a)s::VARCHAR, b=%(b)s WHERE id = %(_key)s AND a <> %(a)s")
    assert sql == b"UPDATE t SET a=$1::VARCHAR, b=$2 WHERE id = $3 AND a <> $1"
    assert names == ["a", "b", "_key"]


def test_an_escaped_percent_is_a_percent_and_nothing_else_changes() -> None:
    sql, names = numbered_placeholders("SELECT 'x%%' || %(p)s, 'é'")
    assert sql == "SELECT 'x%' || $1, 'é'".encode()
    assert names == ["p"]
    assert numbered_placeholders("COMMIT") == (b"COMMIT", [])
