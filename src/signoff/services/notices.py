"""Notifications in the console: a flag from post-action review reaches the workflow's owner,
an escalation reaches the backups.

The audit event that records the flag or the escalation already names who must hear of it
(``data.notify``: user ids or emails) and commits in the same transaction as the change, so it
is the durable outbox: no notice can be lost between the change and its delivery, and none can
exist without the change. What is new here is reading them per person and the acknowledgment:
``notification.acknowledged`` is an audit event too, so the record shows when the accountable
owner saw the flag.

The same events also write a row to the notification outbox (``services/outbox.py``) for the
message that leaves the console by e-mail or webhook; each notice shows what became of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from signoff.domain.identities import Principal
from signoff.domain.notifications import Notification
from signoff.errors import InvalidRequest
from signoff.services.authz import forbid
from signoff.services.context import ServiceContext
from signoff.services.outbox import status_text
from signoff.services.ports import UnitOfWork

__all__ = ["NOTICE_TYPES", "NoticeReads", "acknowledge", "notices", "unread_count"]

NOTICE_TYPES = ("post_review.flagged", "action.escalated")
ACK_TYPE = "notification.acknowledged"
DAYS = 30          # notices older than this drop off the list (the audit trail keeps them)


class NoticeReads(Protocol):
    def notice_events(self, types: Sequence[str], since: datetime, needles: Sequence[str],
                      limit: int = 500) -> list[dict[str, Any]]: ...
    def acknowledged(self, actor: str, since: datetime) -> set[int]: ...


Reads = Callable[[UnitOfWork], NoticeReads]


def _mine(ctx: ServiceContext, uow: UnitOfWork, principal: Principal, store: NoticeReads
          ) -> tuple[list[dict[str, Any]], set[int]]:
    human = uow.humans.get(principal.id)
    if human is None:
        return [], set()
    since = ctx.now() - timedelta(days=DAYS)
    needles = [human.id, human.email]
    # The database narrows by type, time and a substring; the exact test is on the parsed list
    # (a note could quote someone's id as text).
    rows = [e for e in store.notice_events(NOTICE_TYPES, since, needles)
            if any(n in (e["data"].get("notify") or []) for n in needles)]
    return rows, store.acknowledged(principal.actor, since)


def notices(ctx: ServiceContext, principal: Principal, reads: Reads, *,
            channels: Sequence[str] = ()) -> dict[str, Any]:
    """This person's notices of the last 30 days, newest first, and how many are unread;
    each says what became of its message outside the console (``channels``: the ones this
    server delivers by)."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no notifications")
    with ctx.uow(readonly=True) as uow:
        rows, seen = _mine(ctx, uow, principal, reads(uow))
        sent = {(n.event.value, n.action_id): n for n in uow.outbox.list(
            recipient_id=principal.id, since=ctx.now() - timedelta(days=DAYS), limit=1000)}
        names = {}
        for e in rows:
            if e["actor"].startswith("human:") and e["actor"] not in names:
                h = uow.humans.get(e["actor"].removeprefix("human:"))
                names[e["actor"]] = h.email if h else e["actor"]
    items = [{"seq": e["seq"], "at": e["at"], "type": e["type"], "action_id": e["action_id"],
              "workflow": e["workflow"], "by": names.get(e["actor"], e["actor"]),
              "note": str(e["data"].get("note", "")), "unread": e["seq"] not in seen,
              "delivery": _delivery(sent.get((e["type"], e["action_id"])), channels)}
             for e in rows]
    return {"rows": items, "unread": sum(1 for i in items if i["unread"]), "days": DAYS}


def _delivery(n: Notification | None, channels: Sequence[str]) -> dict[str, str] | None:
    if n is None:
        return None   # notices from before the outbox existed
    return {"state": n.state.value, "text": status_text(n, channels)}


def unread_count(ctx: ServiceContext, principal: Principal, reads: Reads) -> int:
    if not principal.is_human:
        return 0
    with ctx.uow(readonly=True) as uow:
        rows, seen = _mine(ctx, uow, principal, reads(uow))
    return sum(1 for e in rows if e["seq"] not in seen)


def acknowledge(ctx: ServiceContext, principal: Principal, reads: Reads, seqs: Sequence[int]
                ) -> int:
    """Mark notices read (on record); only this person's own unread notices are accepted."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no notifications")
    with ctx.uow() as uow:
        rows, seen = _mine(ctx, uow, principal, reads(uow))
        unread = {e["seq"]: e for e in rows if e["seq"] not in seen}
        wanted = sorted(set(seqs))
        if not wanted:
            raise InvalidRequest("no notification chosen", field="seq")
        strangers = [s for s in wanted if s not in unread]
        if strangers:
            raise InvalidRequest(f"not an unread notification of yours: {strangers[0]}",
                                 field="seq")
        for s in wanted:   # one event each, so the acknowledgment joins the action's timeline
            e = unread[s]
            uow.record(ctx.event(ACK_TYPE, principal, action_id=e["action_id"],
                                 workflow=e["workflow"], data={"events": [s], "of": e["type"]}))
        uow.commit()
    return len(wanted)
