"""Grant claims: the signed, single-use right to execute exactly one approved payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = ["Grant", "GrantClaims", "Signer", "build_claims"]


@dataclass(frozen=True, slots=True)
class GrantClaims:
    iss: str
    sub: str      # action id
    aud: str      # workflow
    jti: str
    iat: int
    exp: int
    dig: str      # digest of {workflow, kind, target, params}
    knd: str
    tgt: str

    def as_dict(self) -> dict[str, Any]:
        return {"iss": self.iss, "sub": self.sub, "aud": self.aud, "jti": self.jti,
                "iat": self.iat, "exp": self.exp, "dig": self.dig, "knd": self.knd,
                "tgt": self.tgt}


class Signer(Protocol):
    """Signs claims as a compact JWT and says which key did it."""

    @property
    def kid(self) -> str: ...

    def sign(self, claims: dict[str, Any]) -> str: ...

    def sign_bytes(self, data: bytes) -> bytes: ...

    def jwks(self) -> dict[str, Any]: ...

    def verify(self, token: str, *, audience: str | None = None, verify_exp: bool = True
               ) -> dict[str, Any]: ...


def build_claims(
    *, issuer: str, action_id: str, workflow: str, kind: str, target: str, digest: str,
    jti: str, now: datetime, ttl_seconds: int,
) -> GrantClaims:
    iat = int(now.timestamp())
    exp = int((now + timedelta(seconds=ttl_seconds)).timestamp())
    return GrantClaims(iss=issuer, sub=action_id, aud=workflow, jti=jti, iat=iat, exp=exp,
                       dig=digest, knd=kind, tgt=target)


@dataclass(slots=True)
class Grant:
    jti: str
    action_id: str
    token: str
    digest: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    redeemed_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""

    def state(self, now: datetime) -> str:
        if self.redeemed_at is not None:
            return "redeemed"
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "issued"
