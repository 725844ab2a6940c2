"""Delivery to real peers on loopback, on both databases: a mail server and a webhook receiver
get the message, failures are retried with backoff, then failed, on record and visible."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signoff.services import actions, identities, reviews
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World, free_port
from tests.integration.console.helpers import propose_after_review
from tests.integration.notify.conftest import SECRET
from tests.integration.notify.helpers import (
    OPTIONS,
    deliver,
    email,
    events,
    outbox,
    propose,
    webhook,
)
from tests.integration.notify.peers import SmtpPeer, WebhookPeer


def _flag(world: World, note: str = "went out during the freeze") -> str:
    action_id = propose_after_review(world)
    reviews.post_review(world.ctx, world.rita, action_id, verdict="flag", note=note)
    return action_id


def test_a_flag_reaches_the_owner_by_mail_and_by_signed_webhook(
        world: World, smtp_peer: SmtpPeer, webhook_peer: WebhookPeer) -> None:
    action_id = _flag(world)
    report = deliver(world, email(smtp_peer.url), webhook(webhook_peer.url, SECRET))
    assert (report.claimed, report.delivered) == (1, 1)

    [mail] = smtp_peer.wait_for(1)
    assert mail.rcpt_tos == ["olivia@example.com"] and mail.mail_from == "signoff@example.com"
    msg = mail.message
    assert msg["To"] == "olivia <olivia@example.com>"
    assert msg["Subject"].strip().startswith(
        "[signoff] Flagged after review: draft.note on wiki/notes")
    assert msg.get_content_type() == "text/plain"
    body = msg.get_content()
    assert "went out during the freeze" in body and "rita@example.com" in body
    link = f"https://signoff.example.com/console/actions/{action_id}"
    assert link in body

    [hook] = webhook_peer.wait_for(1)
    assert hook.verified                                   # the receiver's own HMAC check
    assert hook.headers["signoff-event"] == "post_review.flagged"
    facts = hook.json
    assert facts["action_id"] == action_id and facts["link"] == link
    assert facts["recipient"]["email"] == "olivia@example.com"
    assert facts["note"] == "went out during the freeze" and facts["by"] == "rita@example.com"
    assert hook.headers["signoff-delivery"] == facts["id"]

    [row] = outbox(world)
    assert (row.state, row.attempts, row.channels_done) == ("delivered", 1, ["email", "webhook"])
    assert deliver(world, email(smtp_peer.url)).claimed == 0     # never twice
    assert len(smtp_peer.mails) == 1


def test_a_header_injection_in_agent_text_stays_text(world: World,
                                                     smtp_peer: SmtpPeer) -> None:
    evil = "prod/api\r\nBcc: mallory@evil.example\r\nSubject: approved already"
    identities.update_user(world.ctx, ADMIN, world.rita.id,
                           name="Rita\r\nCc: mallory@evil.example")
    propose(world, target=evil, summary="Ship it.\r\nBcc: mallory@evil.example\n"
            "\u202eexe.txt\u202c and more")
    report = deliver(world, email(smtp_peer.url))
    assert report.delivered == report.claimed >= 2
    mails = smtp_peer.wait_for(report.claimed)
    assert all(m.rcpt_tos in (["rita@example.com"], ["sid@example.com"],
                              ["olivia@example.com"]) for m in mails)
    for mail in mails:
        head = mail.raw.split(b"\r\n\r\n", 1)[0].decode()
        names = [line.split(":", 1)[0].lower() for line in head.split("\r\n")
                 if line and not line[0].isspace()]
        assert "bcc" not in names and "cc" not in names and names.count("subject") == 1
        msg = mail.message
        assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
        # The would-be headers are words in the one subject line.
        assert "prod/api Bcc: mallory@evil.example Subject: approved already" in msg["Subject"]
        body = msg.get_content()
        assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in body and "\u202e" not in body
    rita = [m for m in mails if m.rcpt_tos == ["rita@example.com"]][0].message
    assert rita["To"].addresses[0].addr_spec == "rita@example.com"
    assert "\n" not in str(rita["To"]) and len(rita["To"].addresses) == 1


def test_a_refused_connection_is_retried_with_backoff_then_failed_and_on_record(
        world: World, clock: FakeClock) -> None:
    dead = email(f"smtp://127.0.0.1:{free_port()}")                # nothing listens there
    action_id = _flag(world)
    assert deliver(world, dead).retried == 1
    [row] = outbox(world)
    assert (row.state, row.attempts) == ("pending", 1) and "refused" in row.last_error.lower()
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert deliver(world, dead).claimed == 0                         # not due yet
    clock.advance(30)
    assert deliver(world, dead).retried == 1
    assert outbox(world)[0].next_attempt_at == clock.now() + timedelta(seconds=60)  # doubled
    clock.advance(60)
    assert deliver(world, dead).failed == 1                          # OPTIONS: 3 attempts
    [row] = outbox(world)
    assert (row.state, row.attempts) == ("failed", 3) and row.settled_at == clock.now()
    [failed] = events(world, "notification.failed")
    assert failed["action_id"] == action_id and failed["data"]["attempts"] == 3
    assert failed["data"]["recipient"] == world.owner.id and "refused" in failed["data"]["error"]
    clock.advance(3600)
    assert deliver(world, dead).claimed == 0                         # failed stays failed


def test_a_500_is_retried_and_a_channel_that_took_the_message_is_not_sent_again(
        world: World, clock: FakeClock, smtp_peer: SmtpPeer,
        webhook_peer: WebhookPeer) -> None:
    webhook_peer.statuses = [500]
    _flag(world)
    channels = [email(smtp_peer.url), webhook(webhook_peer.url, SECRET)]
    assert deliver(world, *channels).retried == 1
    [row] = outbox(world)
    assert row.channels_done == ["email"] and "webhook answered 500" in row.last_error
    clock.advance(30)
    assert deliver(world, *channels).delivered == 1
    assert len(smtp_peer.mails) == 1 and len(webhook_peer.wait_for(1)) == 1
    assert outbox(world)[0].channels_done == ["email", "webhook"]


def test_a_wrong_secret_is_refused_by_the_receiver(world: World,
                                                   webhook_peer: WebhookPeer) -> None:
    _flag(world)
    assert deliver(world, webhook(webhook_peer.url, "not the receiver's secret")).retried == 1
    assert webhook_peer.hooks == [] and "webhook answered 401" in outbox(world)[0].last_error


def test_a_mail_server_refusing_the_recipient_for_good_fails_at_once(
        world: World, smtp_peer: SmtpPeer) -> None:
    smtp_peer.rcpt_answer = "550 5.1.1 no such mailbox"
    _flag(world)
    assert deliver(world, email(smtp_peer.url)).failed == 1
    [row] = outbox(world)
    assert row.attempts == 1 and "550" in row.last_error
    assert len(events(world, "notification.failed")) == 1


def test_a_temporary_refusal_is_tried_again(world: World, smtp_peer: SmtpPeer,
                                            clock: FakeClock) -> None:
    smtp_peer.data_answer = "451 4.3.0 try again later"
    _flag(world)
    assert deliver(world, email(smtp_peer.url)).retried == 1
    smtp_peer.data_answer = ""
    clock.advance(30)
    assert deliver(world, email(smtp_peer.url)).delivered == 1 and len(smtp_peer.mails) == 1


def test_work_that_is_no_longer_pending_is_not_announced(world: World,
                                                         smtp_peer: SmtpPeer) -> None:
    action_id = propose(world)
    actions.cancel_action(world.ctx, world.agent, action_id)
    report = deliver(world, email(smtp_peer.url))
    assert report.skipped == report.claimed >= 1 and smtp_peer.mails == []
    assert {r.last_error for r in outbox(world)} == {
        "the action is no longer pending (cancelled)"}


def test_with_no_channel_the_rows_wait(world: World) -> None:
    _flag(world)
    assert deliver(world).claimed == 0
    [row] = outbox(world)
    assert (row.state, row.attempts) == ("pending", 0)


def test_too_old_to_send_is_skipped(world: World, clock: FakeClock,
                                    smtp_peer: SmtpPeer) -> None:
    _flag(world)
    clock.advance(OPTIONS.max_age_seconds + 1)
    assert deliver(world, email(smtp_peer.url)).skipped == 1 and smtp_peer.mails == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sign_in_over_starttls_with_a_verified_certificate(
        world: World, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from signoff.adapters.notify import SmtpNotifier
    from signoff.config import parse_smtp_url
    from tests.certs import self_signed

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    peer = SmtpPeer().start(users={"mailer": "s3cret pass"}, tls=server_tls)
    try:
        _flag(world)
        url = f"smtp://mailer:s3cret%20pass@127.0.0.1:{peer.port}?starttls=true"
        notifier = SmtpNotifier(parse_smtp_url(url), sender="signoff@example.com", timeout=5)
        # Our certificate is not one the system trusts: refused, nothing sent, no password.
        assert deliver(world, notifier).retried == 1
        assert peer.logins == [] and "certificate" in outbox(world)[0].last_error.lower()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))     # now it is trusted
        world.app.ctx.clock.advance(30)
        assert deliver(world, notifier).delivered == 1
        assert peer.logins == [("mailer", "s3cret pass")] and len(peer.wait_for(1)) == 1
    finally:
        peer.stop()
