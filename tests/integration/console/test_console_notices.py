"""Notifications: a post-action flag reaches the workflow's owner, an escalation its backups;
reading one is on record."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from signoff.services import reviews, sweeper
from signoff.testing import FakeClock
from tests.conftest import World
from tests.integration.console.helpers import csrf_of, propose, propose_after_review, sign_in


def _badge(html: str) -> str | None:
    match = re.search(r'id="unread-notices">(\d+)<', html)
    return match.group(1) if match else None


def _events(world: World, action_id: str) -> list[dict]:
    with world.ctx.uow(readonly=True) as uow:
        return uow.audit.events(action_id=action_id)


def test_a_flag_reaches_the_owner_and_reading_it_is_on_record(client: TestClient,
                                                              world: World) -> None:
    action_id = propose_after_review(world)
    sign_in(client, "rita@example.com")
    page = client.get("/console/post-review")
    assert f'id="post-{action_id}"' in page.text
    r = client.post(f"/console/actions/{action_id}/post-review",
                    data={"csrf": csrf_of(page.text), "verdict": "flag",
                          "note": "went out during the change freeze"})
    assert "Recorded: flag" in r.text
    assert _badge(r.text) is None                       # the reviewer is not notified

    sign_in(client, "olivia@example.com")               # the workflow's accountable owner
    inbox = client.get("/console/inbox").text
    assert _badge(inbox) == "1"
    notes = client.get("/console/notifications").text
    assert "went out during the change freeze" in notes and "rita@example.com" in notes
    seq = re.search(r'name="seq" value="(\d+)"', notes).group(1)  # type: ignore[union-attr]
    r = client.post("/console/notifications/ack", data={"csrf": csrf_of(notes), "seq": seq})
    assert 'id="ack-done"' in r.text and _badge(r.text) is None
    acks = [e for e in _events(world, action_id) if e["type"] == "notification.acknowledged"]
    assert len(acks) == 1 and acks[0]["actor"] == f"human:{world.owner.id}"
    assert acks[0]["data"]["events"] == [int(seq)]
    assert "went out during" in client.get("/console/dashboard").text   # the dashboard too


def test_only_ones_own_unread_notices_can_be_acknowledged(client: TestClient,
                                                           world: World) -> None:
    action_id = propose_after_review(world)
    reviews.post_review(world.ctx, world.rita, action_id, verdict="flag", note="wrong branch")
    flag = [e for e in _events(world, action_id) if e["type"] == "post_review.flagged"][0]
    sign_in(client, "sid@example.com")                  # not the owner
    token = csrf_of(client.get("/console/notifications").text)
    for seq in (str(flag["seq"]), "abc", "9" * 40, ""):
        r = client.post("/console/notifications/ack", data={"csrf": token, "seq": seq})
        assert r.status_code == 422, (seq, r.status_code)
    sign_in(client, "olivia@example.com")
    token = csrf_of(client.get("/console/notifications").text)
    ok = client.post("/console/notifications/ack", data={"csrf": token,
                                                         "seq": str(flag["seq"])})
    assert ok.status_code == 200
    again = client.post("/console/notifications/ack", data={"csrf": token,
                                                            "seq": str(flag["seq"])})
    assert again.status_code == 422                     # already read


def test_an_escalation_reaches_the_backups(client: TestClient, world: World,
                                           clock: FakeClock) -> None:
    late = [propose(world, target=f"prod/svc-{i}") for i in range(2)]   # high: 30 min SLA
    clock.advance(31 * 60)
    assert sweeper.sweep(world.ctx).escalated == 2
    sign_in(client, "rita@example.com")                 # the workflow's backup
    notes = client.get("/console/notifications").text
    assert _badge(notes) == "2" and notes.count("escalated</span>") == 2
    assert all(a in notes for a in late)
    r = client.post("/console/notifications/ack", data={"csrf": csrf_of(notes), "all": "yes"})
    assert _badge(r.text) is None and "Marked read" in r.text
    sign_in(client, "olivia@example.com")               # the owner is not a backup here
    assert _badge(client.get("/console/inbox").text) is None
    clock.advance(timedelta(days=31).total_seconds())   # past the list's 30 days
    sign_in(client, "rita@example.com")
    assert "No notifications." in client.get("/console/notifications").text
