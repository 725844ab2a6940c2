"""Several senders on one PostgreSQL never deliver one notification twice: claims skip rows
another sender holds (``FOR UPDATE SKIP LOCKED``), and a claim whose lease ran out is lost by
its holder, who then writes nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from signoff.adapters.db.tables_notify import notification_outbox as o
from signoff.domain.notifications import NotificationState
from signoff.services.delivery import DeliveryOptions, deliver_due
from signoff.testing import FakeClock
from tests.conftest import World
from tests.integration.notify.conftest import SECRET
from tests.integration.notify.helpers import outbox, propose, webhook
from tests.integration.notify.peers import WebhookPeer

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]


def test_two_senders_deliver_every_notification_exactly_once(
        world: World, webhook_peer: WebhookPeer) -> None:
    for i in range(30):
        propose(world, target=f"prod/svc-{i}")
    total = len(outbox(world))
    assert total >= 60                             # two or more approvers each
    options = DeliveryOptions(public_url="https://signoff.example.com", batch=4, timeout=5)
    channel = webhook(webhook_peer.url, SECRET)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            while deliver_due(world.ctx, [channel], options).claimed:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    ids = Counter(h.json["id"] for h in webhook_peer.wait_for(total))
    assert len(ids) == total and set(ids.values()) == {1}
    assert {r.state for r in outbox(world)} == {"delivered"}
    assert {r.attempts for r in outbox(world)} == {1}


def test_a_claim_skips_rows_another_sender_holds_without_waiting(world: World) -> None:
    for i in range(3):
        propose(world, target=f"prod/svc-{i}")
    rows = outbox(world)
    held = {r.id for r in rows[:2]}
    now = world.ctx.now()
    with world.app.engine.connect() as other:        # another process, mid-claim
        other.execute(sa.select(o.c.id).where(o.c.id.in_(held)).with_for_update())
        got: list[set[str]] = []

        def claim() -> None:
            with world.ctx.uow() as uow:
                got.append({n.id for n in uow.outbox.claim(
                    now, limit=100, lease_until=now + timedelta(minutes=5), token="clm_b")})
                uow.commit()

        started = time.monotonic()
        thread = threading.Thread(target=claim)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the claim waited for the other sender's lock"
        assert time.monotonic() - started < 5
        other.rollback()
    assert got == [{r.id for r in rows} - held]


def test_a_lapsed_lease_hands_the_row_to_another_sender_and_the_first_writes_nothing(
        world: World, clock: FakeClock) -> None:
    propose(world)
    now = clock.now()
    with world.ctx.uow() as uow:
        first, *_ = uow.outbox.claim(now, limit=100, lease_until=now + timedelta(seconds=60),
                                     token="clm_dead")
        uow.commit()
    with world.ctx.uow() as uow:                      # leased: nobody else may take it
        assert uow.outbox.claim(now, limit=10, lease_until=now, token="clm_x") == []
        uow.commit()
    later = now + timedelta(seconds=61)
    with world.ctx.uow() as uow:
        again = {n.id: n for n in uow.outbox.claim(later, limit=100, lease_until=later,
                                                   token="clm_live")}
        uow.commit()
    assert first.id in again and again[first.id].attempts == 2
    first.state = NotificationState.DELIVERED
    with world.ctx.uow() as uow:                      # the first sender wakes up too late
        assert uow.outbox.settle(first, token="clm_dead") is False
        uow.commit()
    assert outbox(world, id=first.id)[0].claim == "clm_live"
