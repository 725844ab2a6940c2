"""Plumbing shared by the console's views: templates, sessions, CSRF, errors, security headers.

Templates are Jinja2 with autoescape on for every file; nothing agent-provided is ever marked
safe. Hidden characters are rendered as separate marker spans by the ``shown`` macro, fed by
:func:`signoff.domain.deception.reveal` (exposed as the ``reveal`` filter).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signoff.adapters.db.console_store import SqlConsoleReads, SqlSessionRepository
from signoff.bootstrap import Signoff
from signoff.domain.actions import canonical_json
from signoff.domain.deception import reveal
from signoff.errors import InvalidRequest
from signoff.services import notices
from signoff.services.console import ConsoleReads, RubberStamp
from signoff.services.ports import UnitOfWork
from signoff.services.sessions import SessionService, WebSession, csrf_matches

__all__ = ["CSP", "Console", "PageError", "SecurityHeaders", "SignInNeeded", "console_of",
           "pretty_json"]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
LOGIN_CSRF_COOKIE = "signoff_login_csrf"


class SignInNeeded(Exception):
    """No live session: the handler sends the browser to the sign-in page."""


@dataclass(frozen=True, slots=True)
class PageError:
    """An error that is not a SignoffError (a bad query value, an unknown path), for error.html."""

    status: int
    title: str
    detail: str


class SecurityHeaders:
    """Strict CSP on console pages; framing, sniffing and referrer rules on every answer."""

    def __init__(self, app: ASGIApp, prefix: str = "/console") -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        console = scope.get("path", "").startswith(self.prefix)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin")]
                if console:
                    headers += [(b"content-security-policy", CSP.encode()),
                                (b"cache-control", b"no-store"),
                                (b"cross-origin-opener-policy", b"same-origin")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _reads(uow: UnitOfWork) -> ConsoleReads:
    return SqlConsoleReads(uow.connection)  # type: ignore[attr-defined]


def _sessions(uow: UnitOfWork) -> SqlSessionRepository:
    return SqlSessionRepository(uow.connection)  # type: ignore[attr-defined]


def pretty_json(value: Any) -> str:
    """The RFC 8785 canonical form (key order, numbers), indented for people."""
    return json.dumps(json.loads(canonical_json(value)), indent=2, ensure_ascii=False)


def _when(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return str(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 120:
        return f"{sign}{s} s"
    if s < 7200:
        return f"{sign}{s // 60} min"
    if s < 172800:
        return f"{sign}{s // 3600} h {s % 3600 // 60} min"
    return f"{sign}{s // 86400} d"


class Console:
    """What the views need, built once per app (never at import time)."""

    def __init__(self, signoff: Signoff) -> None:
        s = signoff.settings
        self.signoff, self.ctx = signoff, signoff.ctx
        self.reads = _reads
        self.sessions = SessionService(
            signoff.ctx, _sessions, max_failures=s.login_max_failures,
            lockout_seconds=s.login_lockout_seconds, idle_seconds=s.session_idle_seconds,
            max_seconds=s.session_max_seconds)
        self.rubber_stamp = RubberStamp(min_decisions=s.rubber_stamp_min_decisions,
                                        approval_rate=s.rubber_stamp_approval_rate,
                                        speed_ratio=s.rubber_stamp_speed_ratio)
        self.secure = s.secure_cookies
        self.cookie = "__Host-signoff_session" if s.secure_cookies else "signoff_session"
        env = Environment(loader=PackageLoader("signoff.web", "templates"),
                          autoescape=select_autoescape(default=True, default_for_string=True),
                          trim_blocks=True, lstrip_blocks=True)
        env.filters.update(reveal=reveal, when=_when, duration=_duration,
                           pretty=pretty_json, number=lambda n: f"{n:,}")
        self.env = env

    # --- rendering --------------------------------------------------------------------------

    def page(self, request: Request, template: str, *, session: WebSession | None,
             status: int = 200, **values: Any) -> HTMLResponse:
        """Render a page (blocking: the unread-notices badge reads the database, so async
        views call this through ``run_in_threadpool``)."""
        unread = notices.unread_count(self.ctx, session.principal, self.reads) \
            if session else 0
        body = self.env.get_template(template).render(
            session=session, principal=session.principal if session else None,
            csrf=session.csrf_token if session else "", path=request.url.path,
            unread_notices=unread, **values)
        return HTMLResponse(body, status_code=status)

    # --- sessions ---------------------------------------------------------------------------

    def viewer(self, request: Request) -> WebSession:
        refuse_nul(request.scope.get("path", ""), "address")
        for key, value in request.query_params.multi_items():
            refuse_nul(key + value, "address")
        session = self.sessions.resolve(request.cookies.get(self.cookie))
        if session is None:
            raise SignInNeeded
        request.state.principal = session.principal
        return session

    async def posted(self, request: Request) -> tuple[WebSession, dict[str, str]]:
        """The session of a form POST whose CSRF token matches it (else no session at all)."""
        session = await run_in_threadpool(self.viewer, request)
        values = await form_values(request)
        if not csrf_matches(session, values.get("csrf")):
            raise CsrfRefused
        for value in values.values():
            refuse_nul(value, "form")
        return session, values

    def set_session_cookie(self, response: Response, session: WebSession) -> None:
        response.set_cookie(self.cookie, session.id, httponly=True, secure=self.secure,
                            samesite="strict", path="/",
                            max_age=int((session.expires_at - session.created_at)
                                        .total_seconds()))

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True,
                               samesite="strict")

    def login_csrf(self, request: Request) -> str:
        return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)

    def set_login_csrf(self, response: Response, token: str) -> None:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, secure=self.secure,
                            samesite="strict", path="/console", max_age=3600)


def refuse_nul(text: str, where: str) -> None:
    """PostgreSQL cannot store a NUL character: refuse it here as bad input (422), before a
    query fails with a 500."""
    if "\x00" in text:
        raise InvalidRequest(f"the {where} holds a NUL character (U+0000), which is refused")


async def form_values(request: Request) -> dict[str, str]:
    """The posted form's text fields (Starlette answers a malformed body with a 400)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


class CsrfRefused(Exception):
    """A POST whose CSRF token is missing or does not match the session."""


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/console"
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


def console_of(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def safe_next(value: str | None) -> str:
    """Only local console paths: no open redirect to another site."""
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"
