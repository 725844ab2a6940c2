"""Executor-side grant verification: act only with a valid grant for these exact arguments.

Verification is offline: the Ed25519 public keys come from signoff's JWKS once and are cached,
so a downstream service keeps checking grants while signoff is briefly away. An unknown ``kid``
(signoff rotated its key) triggers one refresh, rate-limited so a flood of forged tokens with
random key ids cannot turn the executor into a JWKS-fetching amplifier.

Only ``EdDSA`` is accepted. ``alg: none`` and HMAC algorithms are refused before any key is
looked at: an HS256 token "signed" with the public key is the classic JWT confusion attack.
Every refusal is ``signoff.errors.GrantRefused``; a JWKS that cannot be fetched is
``Unavailable`` (fail closed).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from signoff.client.payload import compute_digest
from signoff.client.transport import parse_answer
from signoff.errors import GrantRefused, InvalidRequest, ProtocolError, Unavailable

__all__ = ["GrantClaims", "GrantVerifier", "JwksCache", "parse_jwks"]

_REQUIRED = ["iss", "sub", "aud", "jti", "iat", "exp", "dig"]


@dataclass(frozen=True, slots=True)
class GrantClaims:
    """A verified grant: the action it belongs to and the exact payload it authorises."""

    action_id: str
    workflow: str
    jti: str
    digest: str
    kind: str
    target: str
    issuer: str
    issued_at: int
    expires_at: int
    kid: str
    token: str


def parse_jwks(document: Any) -> dict[str, Ed25519PublicKey]:
    """Ed25519 keys by ``kid``; keys of other types are skipped, a malformed set is refused."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ProtocolError("JWKS: expected an object with a 'keys' list")
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("alg") not in (None, "EdDSA") or not isinstance(jwk.get("kid"), str):
            continue
        x = jwk.get("x")
        try:
            raw = base64.urlsafe_b64decode(str(x) + "=" * (-len(str(x)) % 4))
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, TypeError):
            raise ProtocolError(f"JWKS: key {jwk['kid']!r} has an invalid 'x'") from None
    return keys


class JwksCache:
    """Keys plus the two clocks that decide when to fetch: a TTL and a refresh rate limit."""

    def __init__(self, *, ttl: float = 600.0, min_refresh_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def lookup(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)

    def should_fetch(self, kid: str) -> bool:
        with self._lock:
            if self._fetched_at is None:
                return True
            age = self._clock() - self._fetched_at
            if age >= self.ttl:
                return True
            return kid not in self._keys and age >= self.min_refresh_interval

    def load(self, document: Any) -> None:
        keys = parse_jwks(document)
        with self._lock:
            self._keys = keys
            self._fetched_at = self._clock()


class GrantVerifier:
    """Verifies grants against one signoff's JWKS; reuse one instance per executor."""

    def __init__(
        self,
        jwks_url: str | None = None,
        *,
        issuer: str | None = "signoff",
        leeway: float = 5.0,
        cache: JwksCache | None = None,
        fetch: Callable[[], Any] | None = None,
        afetch: Callable[[], Awaitable[Any]] | None = None,
        transport: Any = None,
        timeout: float = 5.0,
    ) -> None:
        if jwks_url is None and fetch is None and afetch is None:
            raise InvalidRequest("GrantVerifier needs jwks_url (or a fetch function)",
                                 field="jwks_url")
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.leeway = leeway
        self.cache = cache or JwksCache()
        self._fetch = fetch
        self._afetch = afetch
        self._transport = transport
        self._timeout = timeout

    # -- fetching -------------------------------------------------------------------------
    def _fetch_sync(self) -> Any:
        if self._fetch is not None:
            return self._fetch()
        assert self.jwks_url is not None
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as http:
                response = http.get(self.jwks_url)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot fetch the JWKS at {self.jwks_url}: {exc}") from exc
        return _jwks_body(response)

    async def _fetch_async(self) -> Any:
        if self._afetch is not None:
            return await self._afetch()
        if self._fetch is not None:
            return self._fetch()
        assert self.jwks_url is not None
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as h:
                response = await h.get(self.jwks_url)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot fetch the JWKS at {self.jwks_url}: {exc}") from exc
        return _jwks_body(response)

    # -- verifying ------------------------------------------------------------------------
    def verify(self, token: str, expected_digest: str | None = None, **expect: Any) -> GrantClaims:
        """Check signature, audience, expiry and digest; raises ``GrantRefused``.

        Pass ``expected_digest`` or the action fields (``workflow``, ``kind``, ``target``,
        ``params``) the caller is about to execute; ``audience`` defaults to ``workflow``.
        """
        kid = _kid(token)
        if self.cache.lookup(kid) is None and self.cache.should_fetch(kid):
            self.cache.load(self._fetch_sync())
        return self._check(token, kid, expected_digest, **expect)

    async def averify(self, token: str, expected_digest: str | None = None,
                      **expect: Any) -> GrantClaims:
        """``verify`` for async code: the JWKS fetch (if any) does not block the loop."""
        kid = _kid(token)
        if self.cache.lookup(kid) is None and self.cache.should_fetch(kid):
            self.cache.load(await self._fetch_async())
        return self._check(token, kid, expected_digest, **expect)

    def _check(
        self, token: str, kid: str, expected_digest: str | None, *, audience: str | None = None,
        workflow: str | None = None, kind: str | None = None, target: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> GrantClaims:
        audience = audience or workflow
        if not audience:
            raise InvalidRequest("say which workflow the grant must be for (audience/workflow)",
                                 field="audience")
        if params is not None:
            if workflow is None or kind is None or target is None:
                raise InvalidRequest("params need workflow, kind and target to compute the "
                                     "digest", field="params")
            local = compute_digest(workflow, kind, target, params)
            if expected_digest is not None and not hmac.compare_digest(local, expected_digest):
                raise InvalidRequest("expected_digest does not match the given action fields",
                                     field="expected_digest")
            expected_digest = local
        if expected_digest is None:
            raise InvalidRequest("pass expected_digest or the action's params: a grant is only "
                                 "valid for one exact payload", field="expected_digest")
        key = self.cache.lookup(kid)
        if key is None:
            raise GrantRefused(f"grant signed with unknown key {kid!r}")
        try:
            claims = jwt.decode(
                token, key, algorithms=["EdDSA"], audience=audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise GrantRefused("grant expired") from None
        except jwt.InvalidAudienceError:
            raise GrantRefused(f"grant is not for workflow {audience!r}") from None
        except jwt.PyJWTError as exc:
            raise GrantRefused(f"grant invalid: {exc}") from None
        dig = claims.get("dig")
        if not isinstance(dig, str) or not hmac.compare_digest(dig, expected_digest):
            raise GrantRefused("grant is for a different payload (digest mismatch)")
        for name, claim, want in (("kind", "knd", kind), ("target", "tgt", target)):
            if want is not None and claims.get(claim) != want:
                raise GrantRefused(f"grant is for a different {name}")
        return GrantClaims(
            action_id=str(claims["sub"]), workflow=audience, jti=str(claims["jti"]), digest=dig,
            kind=str(claims.get("knd", "")), target=str(claims.get("tgt", "")),
            issuer=str(claims["iss"]), issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]), kid=kid, token=token,
        )


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _kid(token: str) -> str:
    """The header's key id, after refusing every algorithm but EdDSA.

    Only the header segment is read here, to choose the key; ``jwt.decode`` then checks the
    whole token, header included, against that key. (PyJWT's own header read would check the
    alphabet of all three segments, one character at a time in Python: ~0.13 ms of a gated
    call, spent again by the decode.)"""
    if not isinstance(token, str) or token.count(".") != 2:
        raise GrantRefused("grant is not a compact JWT")
    segment = token[:token.index(".")]
    try:
        if not _SEGMENT.fullmatch(segment) or len(segment.rstrip("=")) % 4 == 1:
            raise ValueError("not base64url")
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise GrantRefused(f"grant header unreadable: {exc}") from None
    if not isinstance(header, dict):
        raise GrantRefused("grant header unreadable: not a JSON object")
    if header.get("alg") != "EdDSA":
        raise GrantRefused(f"grant algorithm {header.get('alg')!r} refused; only EdDSA")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise GrantRefused("grant header has no kid")
    return kid


def _jwks_body(response: httpx.Response) -> Any:
    return parse_answer(response)
