"""Peers for the notification tests, started per test and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.notify.peers import SmtpPeer, WebhookPeer

SECRET = "a webhook secret of some length"


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def webhook_peer() -> Iterator[WebhookPeer]:
    peer = WebhookPeer(SECRET).start()
    try:
        yield peer
    finally:
        peer.stop()
