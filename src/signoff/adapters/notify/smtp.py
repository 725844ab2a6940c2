"""Notification e-mail through an SMTP server (standard library ``smtplib``).

One plain-text message per person. Header injection is closed twice: every header value is
built by :func:`~signoff.domain.notifications.one_line` (no CR, LF or other control character
survives), and the envelope names the one recipient explicitly, so no header can add another.
Nothing in the message is HTML. TLS is either implicit (``smtps://``) or STARTTLS, with the
system's certificate authorities and host name checking; a password never goes over plain SMTP
to another host (the settings refuse that).

A server's 5xx answer to the recipient or the message is final (trying again cannot help);
every other failure (refused connection, timeout, 4xx, sign-in trouble while an operator fixes
the settings) is tried again.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from signoff.config import SmtpTarget
from signoff.domain.notifications import Delivery, DeliveryFailed, one_line

__all__ = ["SmtpNotifier", "message_for"]


def _address(value: str) -> str:
    """An address for the envelope and headers, or a final failure: an address with a control
    character, a space or no @ is not one we will hand to a mail server."""
    if not value or "@" not in value or any(c.isspace() or ord(c) < 32 or ord(c) == 127
                                            for c in value):
        raise DeliveryFailed(f"not a usable e-mail address: {one_line(value, 80)!r}",
                             permanent=True)
    return value


def message_for(delivery: Delivery, *, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(("signoff", sender))
    msg["To"] = formataddr((one_line(delivery.name, 80), _address(delivery.email)))
    msg["Subject"] = one_line(delivery.subject, 200)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=delivery.notification.id, domain="signoff")
    msg["X-Signoff-Notification"] = delivery.notification.id
    msg["X-Signoff-Event"] = delivery.notification.event.value
    msg["Auto-Submitted"] = "auto-generated"      # RFC 3834: no auto-replies to this
    msg.set_content(delivery.text, subtype="plain", charset="utf-8")
    return msg


class SmtpNotifier:
    channel = "email"

    def __init__(self, target: SmtpTarget, *, sender: str, timeout: float = 10.0) -> None:
        self.target, self.sender, self.timeout = target, _address(sender), timeout

    def describe(self) -> str:
        return f"e-mail via {self.target.describe()} from {self.sender}"

    def send(self, delivery: Delivery) -> None:
        message = message_for(delivery, sender=self.sender)
        recipient = _address(delivery.email)
        try:
            with self._connect() as smtp:
                if self.target.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.target.username:
                    smtp.login(self.target.username, self.target.password or "")
                # The envelope, not the headers, says who gets it.
                smtp.send_message(message, from_addr=self.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"recipient refused: {_answer(exc.recipients)}",
                                 permanent=all(500 <= c < 600 for c in codes)) from None
        except smtplib.SMTPDataError as exc:
            raise DeliveryFailed(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                                 permanent=500 <= exc.smtp_code < 600) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"mail server said {exc.smtp_code} "
                                 f"{_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"mail server {self.target.host}:{self.target.port}: "
                                 f"{one_line(str(exc) or type(exc).__name__, 200)}") from None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        if t.tls == "ssl":
            return smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(t.host, t.port, timeout=self.timeout)


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return one_line(text, 200)


def _answer(recipients: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{code} {_text(text)}" for code, text in recipients.values())
