"""Shared by the notification tests: read the outbox, propose, deliver with real channels."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.tables_notify import notification_outbox as o
from signoff.adapters.notify import SmtpNotifier, WebhookNotifier
from signoff.config import parse_smtp_url
from signoff.domain.actions import ActionRequest, Impact
from signoff.services import actions
from signoff.services.delivery import DeliveryOptions, DeliveryReport, deliver_due
from tests.conftest import World

FROM = "signoff@example.com"
OPTIONS = DeliveryOptions(public_url="https://signoff.example.com/", max_attempts=3,
                          retry_seconds=30, timeout=5)


def outbox(world: World, **where: Any) -> list[Any]:
    with world.app.engine.connect() as conn:
        stmt = sa.select(o).order_by(o.c.created_at, o.c.recipient_id)
        for column, value in where.items():
            stmt = stmt.where(o.c[column] == value)
        return list(conn.execute(stmt))


def propose(world: World, *, kind: str = "deploy.release", target: str = "prod/api",
            summary: str = "Release 1.2.3", **over: Any) -> str:
    """High tier (irreversible, external): waits for approval."""
    request = ActionRequest(workflow="prod-deploys", kind=kind, target=target,
                            params=over.pop("params", {"version": "1.2.3"}), summary=summary,
                            impact=over.pop("impact", Impact(reversible=False, external=True)),
                            **over)
    return actions.submit_action(world.ctx, world.agent, request)[0].id


def email(url: str) -> SmtpNotifier:
    return SmtpNotifier(parse_smtp_url(url), sender=FROM, timeout=5)


def webhook(url: str, secret: str) -> WebhookNotifier:
    return WebhookNotifier(url, secret, timeout=5)


def deliver(world: World, *notifiers: Any, options: DeliveryOptions = OPTIONS
            ) -> DeliveryReport:
    return deliver_due(world.ctx, list(notifiers), options)


def events(world: World, type_: str) -> list[dict[str, Any]]:
    with world.ctx.uow(readonly=True) as uow:
        return [e for e in uow.audit.events(limit=10_000) if e["type"] == type_]
