"""Delivering the outbox: claim due notifications, send them, settle each one.

Three steps, and only the first and last touch the database:

1. claim a batch in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single
   writer on SQLite), which moves each row's ``next_attempt_at`` forward by a lease and counts
   the attempt; the people and actions the messages are about are read in the same unit;
2. send, outside any transaction (a slow mail server never holds a lock, least of all the
   audit head that every proposal needs);
3. settle each row in its own transaction, guarded by the claim token: delivered, retried
   later with exponential backoff, failed (out of attempts, or refused for good) or skipped.
   A notification that fails for good is an audit event (``notification.failed``).

Several senders (``serve --workers N``, several hosts on one PostgreSQL) never claim one row at
once. A sender that dies mid-batch loses its lease and the rows come back: delivery is at least
once, and each message carries its notification id so a receiver can drop a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from signoff.domain.actions import ActionStatus
from signoff.domain.notifications import (
    DeliveryFailed,
    Notification,
    NotificationEvent,
    NotificationState,
    compose,
    retry_delay,
)
from signoff.services.context import ServiceContext, new_id
from signoff.services.ports import Notifier

__all__ = ["DeliveryOptions", "DeliveryReport", "console_link", "deliver_due"]

MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    public_url: str = "http://127.0.0.1:8000"
    max_attempts: int = 8
    retry_seconds: float = 30.0
    max_age_seconds: float = 3 * 86400.0
    batch: int = 10
    timeout: float = 10.0       # per channel and message; the lease is sized from it


@dataclass(slots=True)
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0          # settled by nobody here: the lease ran out and another sender took it


def console_link(public_url: str, action_id: str) -> str:
    return f"{public_url.rstrip('/')}/console/actions/{action_id}"


def deliver_due(ctx: ServiceContext, notifiers: Sequence[Notifier], options: DeliveryOptions
                ) -> DeliveryReport:
    """One round: claim up to ``options.batch`` due notifications and deliver them."""
    report = DeliveryReport()
    if not notifiers:
        return report    # no channel: rows stay pending, and the console says so
    now = ctx.now()
    # A look without a write lock first: on SQLite a claim takes the one writer lock, and
    # this runs every few seconds in every process.
    with ctx.uow(readonly=True, transaction=False) as uow:
        if not uow.outbox.any_due(now):
            return report
    token = new_id("clm")
    lease = options.batch * len(notifiers) * options.timeout + 60.0
    with ctx.uow() as uow:
        claimed = uow.outbox.claim(now, limit=options.batch,
                                   lease_until=now + timedelta(seconds=lease), token=token)
        ids = {n.recipient_id for n in claimed} | {str(n.data.get("by")) for n in claimed
                                                   if n.data.get("by")}
        people = uow.humans.many(sorted(ids))
        wanted = sorted({n.action_id for n in claimed})
        actions = {a.id: a for a in uow.actions.list(ids=wanted, limit=len(wanted))} \
            if wanted else {}
        uow.commit()
    report.claimed = len(claimed)
    for n in claimed:
        _attempt(ctx, n, notifiers, options, people=people, action=actions.get(n.action_id))
        _settle(ctx, n, token, actions.get(n.action_id), report)
    return report


def _skip_reason(ctx: ServiceContext, n: Notification, person: Any, action: Any,
                 options: DeliveryOptions) -> str | None:
    if person is None or not person.active:
        return "the recipient is not an active user"
    if action is None:
        return "the action does not exist"
    if (ctx.now() - n.created_at).total_seconds() > options.max_age_seconds:
        return f"older than {options.max_age_seconds / 3600:g} h when a channel could take it"
    if n.event in (NotificationEvent.PENDING, NotificationEvent.ESCALATED) and \
            action.status is not ActionStatus.PENDING:
        return f"the action is no longer pending ({action.status})"
    return None


def _attempt(ctx: ServiceContext, n: Notification, notifiers: Sequence[Notifier],
             options: DeliveryOptions, *, people: dict[str, Any], action: Any) -> None:
    person = people.get(n.recipient_id)
    reason = _skip_reason(ctx, n, person, action, options)
    if reason is not None:
        n.state, n.last_error, n.settled_at = NotificationState.SKIPPED, reason, ctx.now()
        return
    by = people.get(str(n.data.get("by") or ""))
    delivery = compose(n, email=person.email, name=person.name, action=action,
                       link=console_link(options.public_url, n.action_id),
                       by=by.email if by is not None else None)
    errors: dict[str, DeliveryFailed] = {}
    for notifier in notifiers:
        if notifier.channel in n.channels_done:
            continue    # took it on an earlier attempt: never twice
        try:
            notifier.send(delivery)
        except DeliveryFailed as exc:
            errors[notifier.channel] = exc
        else:
            n.channels_done.append(notifier.channel)
    now = ctx.now()
    if not errors:
        n.state, n.last_error, n.settled_at = NotificationState.DELIVERED, None, now
        return
    n.last_error = "; ".join(f"{c}: {e.reason}" for c, e in errors.items())[:MAX_ERROR_CHARS]
    if n.attempts >= options.max_attempts or any(e.permanent for e in errors.values()):
        n.state, n.settled_at = NotificationState.FAILED, now
    else:
        n.next_attempt_at = now + timedelta(seconds=retry_delay(n.attempts,
                                                                base=options.retry_seconds))


def _settle(ctx: ServiceContext, n: Notification, token: str, action: Any,
            report: DeliveryReport) -> None:
    with ctx.uow() as uow:
        if not uow.outbox.settle(n, token=token):
            report.lost += 1
            return
        if n.state is NotificationState.FAILED:
            uow.record(ctx.event("notification.failed", "system", action_id=n.action_id,
                                 agent_id=action.agent_id if action else None,
                                 workflow=n.workflow,
                                 data={"notification": n.id, "event": n.event.value,
                                       "recipient": n.recipient_id, "attempts": n.attempts,
                                       "error": n.last_error,
                                       "delivered_on": list(n.channels_done)}))
        uow.commit()
    if n.state is NotificationState.DELIVERED:
        report.delivered += 1
    elif n.state is NotificationState.FAILED:
        report.failed += 1
    elif n.state is NotificationState.SKIPPED:
        report.skipped += 1
    else:
        report.retried += 1
