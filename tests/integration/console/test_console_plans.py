"""The queries every console page runs use their indexes on SQLite even when the statistics
mislead the planner (nearly no action is sampled for review, nearly no event is a notice):
without help it scanned every action and every event, 110 ms and 25 ms on 100,000 rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.services import console, notices
from signoff.web.support import _reads
from tests.conftest import World
from tests.integration.console.helpers import propose


def _plans(world: World, call: Callable[[], Any], marker: str) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement ``call`` runs whose SQL holds ``marker``."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and marker in statement:
            seen.append((statement, parameters))

    sa.event.listen(world.app.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa.event.remove(world.app.engine, "before_cursor_execute", capture)
    with world.app.engine.connect() as conn:
        return [" / ".join(str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)) for statement, parameters in seen]


def test_the_post_review_queue_and_the_notices_take_their_indexes(world: World,
                                                                   db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's planner; PostgreSQL keeps per-value statistics")
    template = propose(world)
    with world.app.engine.begin() as conn:
        row = dict(conn.execute(sa.select(t.actions).where(t.actions.c.id == template))
                   .one()._mapping)
        conn.execute(t.actions.insert(), [{**row, "id": f"act_copy{n:06d}", "digest": f"d{n}",
                                           "idempotency_key": None} for n in range(2000)])
        event = dict(conn.execute(sa.select(t.audit_events).order_by(
            t.audit_events.c.seq.desc()).limit(1)).one()._mapping)
        conn.execute(t.audit_events.insert(), [{**event, "seq": event["seq"] + n + 1}
                                               for n in range(2000)])
        conn.exec_driver_sql("ANALYZE")
    post = _plans(world, lambda: console.inbox_view(world.ctx, world.rita, _reads),
                  "post_review_verdict IS NULL")
    assert post and all("USING INDEX ix_actions_post_review_open" in p for p in post), post
    seen = _plans(world, lambda: notices.unread_count(world.ctx, world.owner, _reads),
                  "FROM audit_events")
    assert len(seen) >= 2 and not any("SCAN audit_events" in p for p in seen), seen
