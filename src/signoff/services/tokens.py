"""API tokens: random, prefixed so a leak is recognisable, stored only as a SHA-256 hash.

A SHA-256 (not argon2) is right here: the token has 256 bits of entropy, so it cannot be guessed
from its hash, and lookups must stay fast on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from signoff.domain.identities import (
    TOKEN_PREFIXES,
    Agent,
    AgentStatus,
    ApiToken,
    Principal,
    PrincipalKind,
)
from signoff.errors import Unauthenticated
from signoff.services.context import ServiceContext, new_id

__all__ = ["TokenCache", "authenticate", "authenticate_for_proposal", "confirm_token",
           "hash_token", "issue_token"]

_TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(ctx: ServiceContext, uow: object, *, kind: PrincipalKind, subject_id: str,
                name: str) -> tuple[ApiToken, str]:
    """Create a token inside the caller's unit of work; the plain value is returned once."""
    plain = TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)
    record = ApiToken(id=new_id("tok"), subject_kind=kind, subject_id=subject_id, name=name,
                      token_hash=hash_token(plain), created_at=ctx.now())
    uow.tokens.add(record)  # type: ignore[attr-defined]
    return record, plain


class TokenCache:
    """Agents recently authenticated by this process, by token hash, for the proposal path.

    A proposal reads its agent anyway; with the token's id it reads the token in the same
    statement and confirms it there (:func:`confirm_token`), inside the transaction that acts,
    so a cached entry saves the look-up's round trip without ever letting a revoked token or
    agent through. Entries live ``_TOUCH_EVERY``, so ``last_used_at`` keeps its cadence.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Principal, datetime]] = {}

    def get(self, token_hash: str, now: datetime) -> Principal | None:
        found = self._entries.get(token_hash)
        if found is None or now - found[1] > _TOUCH_EVERY:
            return None
        return found[0]

    def put(self, token_hash: str, principal: Principal, now: datetime) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()  # bounded; the next proposals simply look up again
        self._entries[token_hash] = (principal, now)


def authenticate_for_proposal(ctx: ServiceContext, token: str) -> Principal:
    """As :func:`authenticate`, but an agent seen in the last minute comes from the cache,
    marked ``unconfirmed_token_id``: only a proposal may act for it (it confirms the token in
    its own first read). Anything else, and a cache miss, is a full look-up."""
    cache: TokenCache | None = ctx.token_cache
    if cache is None or not token.startswith(TOKEN_PREFIXES[PrincipalKind.AGENT]):
        return authenticate(ctx, token)
    key, now = hash_token(token), ctx.now()
    cached = cache.get(key, now)
    if cached is not None:
        return cached
    principal, record = _look_up(ctx, token, key)
    cache.put(key, replace(principal, unconfirmed_token_id=record.id), now)
    return principal


def confirm_token(principal: Principal, agent: Agent | None, token: ApiToken | None) -> None:
    """Inside the unit that acts for a cached principal: its token and agent still stand."""
    if token is None or token.revoked_at is not None or token.subject_id != principal.id \
            or token.subject_kind is not PrincipalKind.AGENT:
        raise Unauthenticated("unknown or revoked API token")
    if agent is None or agent.status is AgentStatus.REVOKED:
        raise Unauthenticated("the agent behind this token is revoked")


def authenticate(ctx: ServiceContext, token: str) -> Principal:
    """The principal behind a bearer token, or Unauthenticated (401).

    A suspended agent still authenticates, so that it is told 403 "suspended" rather than a
    vague 401; a revoked agent or a deactivated human does not.
    """
    return _look_up(ctx, token, None)[0]


def _look_up(ctx: ServiceContext, token: str, key: str | None) -> tuple[Principal, ApiToken]:
    if not token or not token.startswith(tuple(TOKEN_PREFIXES.values())):
        raise Unauthenticated("missing or malformed API token")
    now = ctx.now()
    # A read-only unit, one statement: on SQLite it does not queue behind writers, and on
    # PostgreSQL it is a single round trip (no transaction around it).
    with ctx.uow(readonly=True, transaction=False) as uow:
        found = uow.tokens.with_subject(key or hash_token(token))
    if found is None or found[0].revoked_at is not None:
        raise Unauthenticated("unknown or revoked API token")
    record, agent, human = found
    principal: Principal
    if record.subject_kind is PrincipalKind.AGENT:
        if agent is None or agent.status is AgentStatus.REVOKED:
            raise Unauthenticated("the agent behind this token is revoked")
        principal = Principal(kind=PrincipalKind.AGENT, id=agent.id, name=agent.name)
    else:
        if human is None or not human.active:
            raise Unauthenticated("the user behind this token is inactive")
        principal = Principal(kind=PrincipalKind.HUMAN, id=human.id,
                              roles=frozenset(human.roles), name=human.email)
    if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
        # Throttled so authentication does not turn every read into a write.
        with ctx.uow() as writer:
            writer.tokens.touch(record.id, now)
            writer.commit()
    return principal, record
