"""What admins see of the outbox and how they send a failed notification again (API and console),
and the server's own sender thread delivering what a proposal wrote, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.api.notify_sender import NotificationSender
from signoff.services import identities
from tests.conftest import ADMIN, World, free_port
from tests.integration.console.helpers import PASSWORD, csrf_of, sign_in
from tests.integration.notify.helpers import deliver, email, events, outbox, propose
from tests.integration.notify.peers import SmtpPeer


@pytest.fixture
def api(world: World) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    ada = identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                                 roles=["admin"], password=PASSWORD)
    identities.update_user(world.ctx, ADMIN, world.rita.id, password=PASSWORD)
    _, admin = identities.create_user_token(world.ctx, ADMIN, ada.id, name="t")
    _, reviewer = identities.create_user_token(world.ctx, ADMIN, world.rita.id, name="t")
    with TestClient(create_app(world.app, sweeper=False), base_url="https://testserver") as c:
        yield c, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {reviewer}"}


def _refused_once(world: World) -> str:
    """A pending action whose notifications failed once (nobody listens there): retried later."""
    action_id = propose(world)
    report = deliver(world, email(f"smtp://127.0.0.1:{free_port()}"))
    assert report.claimed >= 1 and report.retried == report.claimed
    return action_id


def test_the_outbox_lists_states_and_a_failed_notification_is_sent_again(
        api: Any, world: World, smtp_peer: SmtpPeer) -> None:
    client, admin, reviewer = api
    action_id = propose(world)
    assert client.get("/v1/notifications/outbox", headers=reviewer).status_code == 403
    listed = client.get("/v1/notifications/outbox", headers=admin).json()
    assert listed["channels"] == []        # this test app has no channel configured
    rows = listed["items"]
    assert {r["recipient"] for r in rows} == {"olivia@example.com", "rita@example.com",
                                              "sid@example.com"}
    assert all(r["action_id"] == action_id and r["state"] == "pending" and
               r["status"] == "not delivered: no channel configured" for r in rows)
    assert listed["counts"] == {"pending": len(rows)}

    bad = client.get("/v1/notifications/outbox?state=lost", headers=admin)
    assert bad.status_code == 422 and "state must be one of" in bad.json()["detail"]
    assert client.get("/v1/notifications/outbox?limit=0", headers=admin).status_code == 422
    pending = rows[0]["id"]
    refused = client.post(f"/v1/notifications/outbox/{pending}/retry", headers=admin)
    assert refused.status_code == 409 and "only failed or skipped" in refused.json()["detail"]
    assert client.post("/v1/notifications/outbox/ntf_nope/retry",
                       headers=admin).status_code == 404
    assert client.post(f"/v1/notifications/outbox/{pending}/retry",
                       headers=reviewer).status_code == 403

    # The mail server refuses the recipient for good: failed at once, then sent again by hand.
    smtp_peer.rcpt_answer = "550 5.1.1 no such mailbox"
    assert deliver(world, email(smtp_peer.url)).failed == len(rows)
    failed = client.get("/v1/notifications/outbox?state=failed", headers=admin).json()["items"]
    assert len(failed) == len(rows) and "550" in failed[0]["status"]
    again = client.post(f"/v1/notifications/outbox/{failed[0]['id']}/retry", headers=admin)
    assert again.status_code == 200
    assert (again.json()["state"], again.json()["attempts"]) == ("pending", 0)
    [retried] = events(world, "notification.retried")
    assert retried["data"]["notification"] == failed[0]["id"]
    assert retried["data"]["was"] == "failed" and retried["actor"].startswith("human:")
    smtp_peer.rcpt_answer = None
    assert deliver(world, email(smtp_peer.url)).delivered == 1
    assert len(smtp_peer.wait_for(1)) == 1
    row = outbox(world, id=failed[0]["id"])[0]
    assert (row.state, row.attempts, row.channels_done) == ("delivered", 1, ["email"])


def test_the_console_outbox_page_shows_failures_and_sends_again_with_csrf(
        api: Any, world: World) -> None:
    client, _, _ = api
    _refused_once(world)
    sign_in(client, "ada@example.com")
    page = client.get("/console/admin/outbox?state=pending")
    assert page.status_code == 200 and "No channel is configured" in page.text
    assert "attempt 1 failed" in page.text and "refused" in page.text.lower()
    assert "Send again" not in page.text            # only failed or skipped rows offer it
    token = csrf_of(page.text)
    n = outbox(world)[0]
    r = client.post("/console/admin/outbox/retry", data={"csrf": token, "id": n.id})
    assert r.status_code == 409 and "only failed or skipped" in r.text
    assert client.post("/console/admin/outbox/retry",
                       data={"csrf": "forged", "id": n.id}).status_code == 403
    assert client.get("/console/admin/outbox?state=%3Cscript%3E").status_code == 200

    assert sign_in(client, "rita@example.com").status_code == 303
    assert client.get("/console/admin/outbox").status_code == 403


def test_the_server_sender_thread_delivers_what_a_proposal_wrote(
        world: World, smtp_peer: SmtpPeer) -> None:
    app = world.app
    app.notifiers = [email(smtp_peer.url)]
    sender = NotificationSender(app)
    sender.start()
    try:
        action_id = propose(world)
        mails = smtp_peer.wait_for(3)
    finally:
        sender.stop()
    assert sorted(m.rcpt_tos[0] for m in mails) == ["olivia@example.com", "rita@example.com",
                                                     "sid@example.com"]
    assert all(action_id in m.message.get_content() for m in mails)
    assert {r.state for r in outbox(world)} == {"delivered"}
    assert sender._thread is None     # stopped and joined
