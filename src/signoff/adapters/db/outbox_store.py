"""SQL for the notification outbox: add in the event's transaction, claim, settle, list.

``add`` runs inside proposals that wait for approval, so it uses the driver-level insert: on
PostgreSQL the rows wait in the unit's write-behind and leave with its commit (no round trip of
their own); everything else is background or admin work and goes through SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.base import Repository
from signoff.adapters.db.driver import insert_statement
from signoff.adapters.db.tables_notify import notification_outbox as o
from signoff.domain.notifications import Notification, NotificationEvent, NotificationState

__all__ = ["SqlOutboxRepository"]

_COLUMNS = tuple(c.name for c in o.columns)
_PENDING = NotificationState.PENDING.value


def _row(r: Any) -> Notification:
    return Notification(
        id=r.id, event=NotificationEvent(r.event), action_id=r.action_id, workflow=r.workflow,
        recipient_id=r.recipient_id, created_at=r.created_at, data=dict(r.data or {}),
        state=NotificationState(r.state), attempts=r.attempts,
        next_attempt_at=r.next_attempt_at, channels_done=list(r.channels_done or []),
        last_error=r.last_error, settled_at=r.settled_at)


class SqlOutboxRepository(Repository):
    def add(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        rows = [{"id": n.id, "event": n.event.value, "action_id": n.action_id,
                 "workflow": n.workflow, "recipient_id": n.recipient_id, "data": n.data,
                 "created_at": n.created_at, "state": n.state.value, "attempts": n.attempts,
                 "next_attempt_at": n.next_attempt_at or n.created_at, "claim": None,
                 "channels_done": list(n.channels_done), "last_error": n.last_error,
                 "settled_at": n.settled_at} for n in notifications]
        insert_statement(o, _COLUMNS, self.conn.dialect).execute_many(self.conn, rows)

    def any_due(self, now: datetime) -> bool:
        stmt = sa.select(o.c.id).where(o.c.state == _PENDING, o.c.next_attempt_at <= now
                                       ).limit(1)
        return self.conn.execute(stmt).first() is not None

    def claim(self, now: datetime, *, limit: int, lease_until: datetime, token: str
              ) -> list[Notification]:
        """Due rows, taken by this claimer until ``lease_until``, each one attempt more.

        On PostgreSQL ``SKIP LOCKED`` lets senders in other processes claim other rows at the
        same moment instead of queueing behind this one; on SQLite the unit of work is the only
        writer, so the read and the update are one step for everyone else.
        """
        stmt = sa.select(o).where(o.c.state == _PENDING, o.c.next_attempt_at <= now
                                  ).order_by(o.c.next_attempt_at, o.c.id).limit(limit)
        if self._pg:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = [_row(r) for r in self.conn.execute(stmt)]
        if rows:
            self.conn.execute(o.update().where(o.c.id.in_([n.id for n in rows])).values(
                claim=token, next_attempt_at=lease_until, attempts=o.c.attempts + 1))
        for n in rows:
            n.attempts += 1
            n.next_attempt_at = lease_until
        return rows

    def settle(self, notification: Notification, *, token: str) -> bool:
        """Store the outcome of an attempt; False when this claim was lost (the lease ran out
        and another sender took the row), in which case nothing is written."""
        n = notification
        done = self.conn.execute(o.update().where(o.c.id == n.id, o.c.claim == token).values(
            state=n.state.value, next_attempt_at=n.next_attempt_at, claim=None,
            channels_done=list(n.channels_done), last_error=n.last_error,
            settled_at=n.settled_at))
        return bool(done.rowcount)

    def get(self, notification_id: str) -> Notification | None:
        row = self.conn.execute(sa.select(o).where(o.c.id == notification_id)).first()
        return _row(row) if row else None

    def requeue(self, notification_id: str, now: datetime) -> None:
        self.conn.execute(o.update().where(o.c.id == notification_id).values(
            state=_PENDING, attempts=0, next_attempt_at=now, claim=None, settled_at=None))

    def list(self, *, states: Sequence[str] | None = None, recipient_id: str | None = None,
             since: datetime | None = None, limit: int = 100) -> list[Notification]:
        stmt = sa.select(o)
        if states:
            stmt = stmt.where(o.c.state.in_(list(states)))
        if recipient_id:
            stmt = stmt.where(o.c.recipient_id == recipient_id)
        if since is not None:
            stmt = stmt.where(o.c.created_at >= since)
        stmt = stmt.order_by(o.c.created_at.desc(), o.c.id.desc()).limit(limit)
        return [_row(r) for r in self.conn.execute(stmt)]

    def counts(self) -> dict[str, int]:
        stmt = sa.select(o.c.state, sa.func.count()).group_by(o.c.state)
        return {state: int(n) for state, n in self.conn.execute(stmt)}
