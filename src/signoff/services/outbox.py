"""The notification outbox: writing notifications with their event, and the admin's view.

Use cases that cause a notification call :func:`enqueue` on their own unit of work before
committing, so the rows commit with the event or not at all (an outbox: nothing acknowledged is
lost, nothing is sent for a change that rolled back). Who is told is decided here:

- a post-action flag: the workflow's accountable owner;
- an escalation: the workflow's active backups, or its owner when it has none;
- a new pending action: its eligible approvers (not the person it is done for).

Delivery is ``services/delivery.py``; the channels are adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from signoff.domain.actions import Action
from signoff.domain.approvals import EligibleFactor, eligible_pool
from signoff.domain.identities import Principal, Role
from signoff.domain.notifications import Notification, NotificationEvent, NotificationState
from signoff.errors import Conflict, InvalidRequest, NotFound
from signoff.services.authz import require_role
from signoff.services.context import ServiceContext, new_id
from signoff.services.ports import UnitOfWork

__all__ = ["approvers_to_tell", "as_dict", "enqueue", "list_outbox", "retry_notification",
           "status_text"]

NO_CHANNEL = "not delivered: no channel configured"


def enqueue(ctx: ServiceContext, uow: UnitOfWork, event: NotificationEvent, action: Action,
            recipients: Iterable[str], *, data: dict[str, Any] | None = None,
            at: datetime | None = None) -> int:
    """One notification per person (each once) in ``uow``; returns how many."""
    now = at or ctx.now()
    rows = [Notification(id=new_id("ntf"), event=event, action_id=action.id,
                         workflow=action.workflow, recipient_id=r, created_at=now,
                         data=dict(data or {}), next_attempt_at=now)
            for r in dict.fromkeys(recipients) if r]
    uow.outbox.add(rows)
    return len(rows)


def approvers_to_tell(factors: Iterable[EligibleFactor], requester_id: str | None
                      ) -> list[str]:
    """Who may decide a pending action: its resolved approver pools (active people at
    proposal time), less the person it is done for, who may not approve it."""
    return sorted(eligible_pool(factors) - {requester_id})


def status_text(n: Notification, channels: Sequence[str]) -> str:
    """What became of a notification, in words for the console and the API."""
    if n.state is NotificationState.DELIVERED:
        return f"sent ({', '.join(n.channels_done)})"
    if n.state is NotificationState.FAILED:
        return f"delivery failed after {n.attempts} attempt(s): {n.last_error or 'unknown'}"
    if n.state is NotificationState.SKIPPED:
        return f"not sent: {n.last_error or 'nothing to say any more'}"
    if n.attempts and n.last_error:   # the error first: it says what to fix
        then = "trying again" if channels else "no channel is configured now"
        return f"attempt {n.attempts} failed ({n.last_error}); {then}"
    if not channels:
        return NO_CHANNEL
    return "waiting to be sent"


def as_dict(n: Notification, channels: Sequence[str]) -> dict[str, Any]:
    return {"id": n.id, "event": n.event.value, "action_id": n.action_id,
            "workflow": n.workflow, "recipient_id": n.recipient_id,
            "created_at": n.created_at.isoformat(), "state": n.state.value,
            "attempts": n.attempts, "channels_done": list(n.channels_done),
            "last_error": n.last_error,
            "next_attempt_at": n.next_attempt_at.isoformat()
            if n.next_attempt_at and n.state is NotificationState.PENDING else None,
            "settled_at": n.settled_at.isoformat() if n.settled_at else None,
            "status": status_text(n, channels)}


def _state(value: str | None) -> list[str] | None:
    if not value:
        return None
    try:
        return [NotificationState(value).value]
    except ValueError:
        names = ", ".join(s.value for s in NotificationState)
        raise InvalidRequest(f"state must be one of {names}", field="state") from None


def list_outbox(ctx: ServiceContext, principal: Principal, *, channels: Sequence[str],
                state: str | None = None, limit: int = 100) -> dict[str, Any]:
    """The newest notifications (of one state, if asked), the counts per state and the
    channels this server delivers through. Admins only: it names who was told what."""
    require_role(ctx, principal, Role.ADMIN, what="the notification outbox")
    states = _state(state)
    with ctx.uow(readonly=True) as uow:
        rows = uow.outbox.list(states=states, limit=limit)
        people = uow.humans.many(sorted({n.recipient_id for n in rows}))
        counts = uow.outbox.counts()
    items = []
    for n in rows:
        item = as_dict(n, channels)
        person = people.get(n.recipient_id)
        item["recipient"] = person.email if person else n.recipient_id
        items.append(item)
    return {"channels": list(channels), "counts": counts, "items": items}


def retry_notification(ctx: ServiceContext, principal: Principal, notification_id: str
                       ) -> Notification:
    """Send a failed or skipped notification again (after fixing a channel); on record."""
    require_role(ctx, principal, Role.ADMIN, what="the notification outbox")
    with ctx.uow() as uow:
        n = uow.outbox.get(notification_id)
        if n is None:
            raise NotFound(f"no notification {notification_id[:60]}")
        if n.state not in (NotificationState.FAILED, NotificationState.SKIPPED):
            raise Conflict(f"the notification is {n.state.value}; only failed or skipped "
                           "ones are sent again", state=n.state.value)
        uow.outbox.requeue(n.id, ctx.now())
        uow.record(ctx.event("notification.retried", principal, action_id=n.action_id,
                             workflow=n.workflow,
                             data={"notification": n.id, "event": n.event.value,
                                   "recipient": n.recipient_id, "was": n.state.value,
                                   "last_error": n.last_error}))
        uow.commit()
    n.state, n.attempts, n.settled_at = NotificationState.PENDING, 0, None
    return n
