"""Console sign-in: password check with lockout, server-side sessions, CSRF tokens.

:class:`SessionService` turns an *authenticated identity* into a session; how the identity was
authenticated (a password today, SSO later) is the caller's business: :meth:`sign_in_password`
is one front door, a future OIDC callback calls :meth:`start` with ``auth_method="sso"``.

The session id (256 random bits) goes to the browser; only its SHA-256 is stored, so a copy of
the database signs nobody in. Every session carries its own CSRF token, compared in constant
time on every POST. Sign-in success, failure and lockout are audit events.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from signoff.domain.identities import Human, Principal, PrincipalKind
from signoff.errors import Unauthenticated
from signoff.services.context import ServiceContext
from signoff.services.ports import UnitOfWork

__all__ = ["SessionService", "SessionStore", "SignInRefused", "WebSession", "csrf_matches",
           "hash_session_id"]

_FAILED = "email or password is wrong"


class SessionStore(Protocol):
    def add(self, *, id_hash: str, user_id: str, csrf_token: str, auth_method: str,
            created_at: datetime, expires_at: datetime, ip: str, user_agent: str) -> None: ...
    def get(self, id_hash: str) -> dict[str, Any] | None: ...
    def touch(self, id_hash: str, at: datetime) -> None: ...
    def delete(self, id_hash: str) -> None: ...
    def delete_for_user(self, user_id: str) -> int: ...


class SignInRefused(Unauthenticated):
    """Wrong credentials or a locked account; the message never says which part was wrong."""

    code = "signin_refused"
    title = "Sign-in refused"


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str                 # the secret the browser holds (empty when loaded from storage)
    user_id: str
    csrf_token: str
    auth_method: str
    created_at: datetime
    expires_at: datetime
    principal: Principal


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_matches(session: WebSession, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf_token.encode(),
                                               (token or "").encode())


def principal_for(human: Human, auth_method: str) -> Principal:
    return Principal(kind=PrincipalKind.HUMAN, id=human.id, roles=frozenset(human.roles),
                     name=human.email, auth_method=auth_method)


class SessionService:
    def __init__(self, ctx: ServiceContext, store: Callable[[UnitOfWork], SessionStore], *,
                 max_failures: int = 5, lockout_seconds: int = 900,
                 idle_seconds: int = 8 * 3600, max_seconds: int = 24 * 3600) -> None:
        self.ctx, self._store = ctx, store
        self.max_failures, self.lockout_seconds = max_failures, lockout_seconds
        self.idle_seconds, self.max_seconds = idle_seconds, max_seconds
        self._dummy_hash: str | None = None

    # --- front doors ------------------------------------------------------------------------

    def sign_in_password(self, email: str, password: str, *, ip: str = "",
                         user_agent: str = "") -> WebSession:
        """Check the password (argon2) with lockout; on success start a session."""
        ctx, now = self.ctx, self.ctx.now()
        email = email.strip()[:320]
        with ctx.uow() as uow:
            human = uow.humans.by_email(email) if email else None
            if human is None or not human.active:
                self._burn_time(password)   # same cost as a real check: no user enumeration
                uow.record(ctx.event("auth.signin_failed", "system",
                                     data={"email": email, "reason": "unknown or inactive user",
                                           "ip": ip}))
                uow.commit()
                raise SignInRefused(_FAILED)
            failed, locked_until = uow.humans.login_state(human.id)  # type: ignore[attr-defined]
            if locked_until is not None and locked_until > now:
                uow.record(ctx.event("auth.signin_locked", f"human:{human.id}",
                                     data={"email": human.email, "ip": ip,
                                           "locked_until": locked_until.isoformat()}))
                uow.commit()
                raise SignInRefused("too many failed sign-ins: this account is locked for "
                                    f"{int((locked_until - now).total_seconds()) + 1} seconds")
            if not ctx.password_hasher.verify(human.password_hash, password):
                failed += 1
                lock = failed >= self.max_failures
                until = now + timedelta(seconds=self.lockout_seconds) if lock else None
                uow.humans.set_login_state(human.id, 0 if lock else failed,  # type: ignore
                                           until)
                uow.record(ctx.event("auth.signin_failed", f"human:{human.id}",
                                     data={"email": human.email, "reason": "wrong password",
                                           "failures": failed, "ip": ip}))
                if lock:
                    uow.record(ctx.event("auth.locked_out", "system",
                                         data={"user_id": human.id, "email": human.email,
                                               "until": until.isoformat() if until else None,
                                               "failures": failed}))
                uow.commit()
                raise SignInRefused(_FAILED)
            uow.humans.set_login_state(human.id, 0, None)  # type: ignore[attr-defined]
            session = self._create(uow, human, "password", ip=ip, user_agent=user_agent)
            uow.commit()
        return session

    def start(self, user_id: str, *, auth_method: str, ip: str = "", user_agent: str = ""
              ) -> WebSession:
        """A session for a human some other means (e.g. SSO) has already authenticated."""
        with self.ctx.uow() as uow:
            human = uow.humans.get(user_id)
            if human is None or not human.active:
                raise SignInRefused("no active user")
            session = self._create(uow, human, auth_method, ip=ip, user_agent=user_agent)
            uow.commit()
        return session

    # --- per request ------------------------------------------------------------------------

    def resolve(self, session_id: str | None) -> WebSession | None:
        """The live session for a cookie value, or None (unknown, expired, idle, user gone)."""
        if not session_id or len(session_id) > 128:
            return None
        now, key = self.ctx.now(), hash_session_id(session_id)
        with self.ctx.uow(readonly=True) as uow:
            row = self._store(uow).get(key)
            if row is None:
                return None
            human = uow.humans.get(row["user_id"])
        idle_limit = row["last_seen_at"] + timedelta(seconds=self.idle_seconds)
        if human is None or not human.active or now >= row["expires_at"] or now >= idle_limit:
            self._drop(key)
            return None
        if (now - row["last_seen_at"]).total_seconds() > 60:   # write at most once a minute
            with self.ctx.uow() as uow:
                self._store(uow).touch(key, now)
                uow.commit()
        return WebSession(id=session_id, user_id=human.id, csrf_token=row["csrf_token"],
                          auth_method=row["auth_method"], created_at=row["created_at"],
                          expires_at=row["expires_at"],
                          principal=principal_for(human, row["auth_method"]))

    def sign_out(self, session: WebSession) -> None:
        with self.ctx.uow() as uow:
            self._store(uow).delete(hash_session_id(session.id))
            uow.record(self.ctx.event("auth.signout", session.principal,
                                      data={"auth_method": session.auth_method}))
            uow.commit()

    def end_sessions(self, user_id: str, *, by: Principal) -> int:
        """End every console session of one person (after a password reset), on record."""
        with self.ctx.uow() as uow:
            ended = self._store(uow).delete_for_user(user_id)
            uow.record(self.ctx.event("auth.sessions_ended", by,
                                      data={"user_id": user_id, "sessions": ended}))
            uow.commit()
        return ended

    # --- inside ------------------------------------------------------------------------------

    def _create(self, uow: UnitOfWork, human: Human, auth_method: str, *, ip: str,
                user_agent: str) -> WebSession:
        now = self.ctx.now()
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.max_seconds)
        self._store(uow).add(id_hash=hash_session_id(session_id), user_id=human.id,
                             csrf_token=csrf, auth_method=auth_method, created_at=now,
                             expires_at=expires, ip=ip, user_agent=user_agent)
        principal = principal_for(human, auth_method)
        uow.record(self.ctx.event("auth.signin", principal,
                                  data={"email": human.email, "auth_method": auth_method,
                                        "ip": ip}))
        return WebSession(id=session_id, user_id=human.id, csrf_token=csrf,
                          auth_method=auth_method, created_at=now, expires_at=expires,
                          principal=principal)

    def _drop(self, key: str) -> None:
        with self.ctx.uow() as uow:
            self._store(uow).delete(key)
            uow.commit()

    def _burn_time(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.ctx.password_hasher.hash(secrets.token_hex(16))
        self.ctx.password_hasher.verify(self._dummy_hash, password)
