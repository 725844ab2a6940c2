"""Channels that take notifications to people: e-mail (SMTP) and a signed webhook.

:func:`notifiers_for` builds the ones the settings name, in a fixed order (e-mail, then
webhook); none configured means none, and the outbox keeps its rows for the console.
"""

from __future__ import annotations

from signoff.adapters.notify.smtp import SmtpNotifier
from signoff.adapters.notify.webhook import WebhookNotifier, sign
from signoff.config import Settings

__all__ = ["SmtpNotifier", "WebhookNotifier", "notifiers_for", "sign"]


def notifiers_for(settings: Settings) -> list[SmtpNotifier | WebhookNotifier]:
    out: list[SmtpNotifier | WebhookNotifier] = []
    target = settings.smtp
    if target is not None and settings.smtp_from:
        out.append(SmtpNotifier(target, sender=settings.smtp_from,
                                timeout=settings.notify_timeout))
    if settings.webhook_url and settings.webhook_secret is not None:
        out.append(WebhookNotifier(settings.webhook_url,
                                   settings.webhook_secret.get_secret_value(),
                                   timeout=settings.notify_timeout))
    return out
