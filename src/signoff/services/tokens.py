"""API tokens: random, prefixed so a leak is recognisable, stored only as a SHA-256 hash.

A SHA-256 (not argon2) is right here: the token has 256 bits of entropy, so it cannot be guessed
from its hash, and lookups must stay fast on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from signoff.domain.identities import (
    TOKEN_PREFIXES,
    AgentStatus,
    ApiToken,
    Principal,
    PrincipalKind,
)
from signoff.errors import Unauthenticated
from signoff.services.context import ServiceContext, new_id

__all__ = ["authenticate", "hash_token", "issue_token"]

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


def authenticate(ctx: ServiceContext, token: str) -> Principal:
    """The principal behind a bearer token, or Unauthenticated (401).

    A suspended agent still authenticates, so that it is told 403 "suspended" rather than a
    vague 401; a revoked agent or a deactivated human does not.
    """
    if not token or not token.startswith(tuple(TOKEN_PREFIXES.values())):
        raise Unauthenticated("missing or malformed API token")
    now = ctx.now()
    # A read-only unit, one statement: on SQLite it does not queue behind writers, and on
    # PostgreSQL it is a single round trip (no transaction around it).
    with ctx.uow(readonly=True, transaction=False) as uow:
        found = uow.tokens.with_subject(hash_token(token))
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
    return principal
