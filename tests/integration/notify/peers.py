"""Real peers on loopback for the notification tests: an SMTP server (aiosmtpd) and an HTTP
server that receives webhooks and checks their signature itself (its own HMAC code, not ours).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.peer.rcpt_answer:
            return self.peer.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.peer.data_answer:
            return self.peer.data_answer
        with self.peer.lock:
            self.peer.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos),
                                        envelope.original_content or envelope.content))
        return "250 Message accepted"


@dataclass
class SmtpPeer:
    """aiosmtpd in its own thread; ``rcpt_answer``/``data_answer`` make it refuse."""

    port: int = 0
    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    rcpt_answer: str = ""
    data_answer: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    def start(self, *, users: dict[str, str] | None = None,
              tls: ssl.SSLContext | None = None) -> SmtpPeer:
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if users is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             data: Any) -> AuthResult:
                if isinstance(data, LoginPassword):
                    login, password = data.login.decode(), data.password.decode()
                    self.logins.append((login, password))
                    return AuthResult(success=users.get(login) == password)
                return AuthResult(success=False)
            kwargs.update(authenticator=authenticate, auth_required=True,
                          auth_require_tls=tls is not None)
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.mails) >= n:
                    return list(self.mails)
            time.sleep(0.05)
        return list(self.mails)


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: float = 300.0
                     ) -> bool:
    """What a receiver does, written from the documented scheme (docs/notifications.md)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        stamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - stamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields.get("v1", ""))


class WebhookPeer:
    """A threaded HTTP server; answers with ``statuses`` in turn (then 200 for ever)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.hooks: list[Hook] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_signature(peer.secret, headers.get("signoff-signature", ""), body)
                with peer.lock:
                    status = peer.statuses.pop(0) if peer.statuses else 200
                    if status == 200 and ok:   # a forged or stale message is refused
                        peer.hooks.append(Hook(headers, body, ok))
                self.send_response(status if ok else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookPeer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/signoff"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.hooks) >= n:
                    return list(self.hooks)
            time.sleep(0.05)
        return list(self.hooks)
