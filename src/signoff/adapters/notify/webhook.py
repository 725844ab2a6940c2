"""Notifications as signed JSON POSTs (Slack, Teams and PagerDuty bridges take webhooks).

The signature lets a receiver know the message is ours and fresh. Header
``Signoff-Signature: t=<unix seconds>,v1=<hex>`` where the hex is HMAC-SHA256, keyed by
``SIGNOFF_WEBHOOK_SECRET``, over the bytes ``<t>.`` followed by the exact request body. A
receiver recomputes it over the raw body, compares in constant time, and refuses a ``t`` more
than a few minutes from its own clock (a replay). ``Signoff-Delivery`` is the notification id:
delivery is at least once, so a receiver drops an id it has already seen. The scheme is
Stripe's, so existing verification code fits.

Any answer other than 2xx, a redirect included (it is not followed), is a failure, tried again
with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from signoff.domain.notifications import Delivery, DeliveryFailed, one_line

__all__ = ["SIGNATURE_HEADER", "WebhookNotifier", "sign"]

SIGNATURE_HEADER = "Signoff-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Signoff-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookNotifier:
    channel = "webhook"

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url, self._secret, self.timeout = url, secret, timeout

    def describe(self) -> str:
        split = httpx.URL(self.url)
        return f"webhook to {split.scheme}://{split.host}{split.path} (signed)"

    def send(self, delivery: Delivery) -> None:
        body = json.dumps(delivery.facts, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode()
        # Wall-clock time, not the service clock: the receiver compares it with its own.
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
                   "Signoff-Event": delivery.notification.event.value,
                   "Signoff-Delivery": delivery.notification.id,
                   "User-Agent": "signoff-notifier/1"}
        try:
            response = httpx.post(self.url, content=body, headers=headers,
                                  timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {one_line(str(exc) or type(exc).__name__, 200)}"
                                 ) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"webhook answered {response.status_code}")
