"""``verify_grant``: the one call a downstream service makes before it acts.

A service that executes on behalf of agents (a payment runner, a deploy bot) must not trust the
agent's word that something was approved. It receives the grant with the request, checks it
offline against the arguments it is about to act on, and (``redeem=True``) spends it on the
server so the same grant can never run twice. Verifiers are cached per JWKS URL, so repeated
calls reuse the cached keys instead of fetching the JWKS on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from signoff.client.base import JWKS_PATH
from signoff.client.sync import Client
from signoff.client.verify import GrantClaims, GrantVerifier
from signoff.errors import InvalidRequest

__all__ = ["verify_grant"]

_verifiers: dict[tuple[str, str | None], GrantVerifier] = {}
_lock = threading.Lock()


def _verifier_for(jwks_url: str, issuer: str | None) -> GrantVerifier:
    with _lock:
        verifier = _verifiers.get((jwks_url, issuer))
        if verifier is None:
            verifier = _verifiers[(jwks_url, issuer)] = GrantVerifier(jwks_url, issuer=issuer)
        return verifier


def verify_grant(
    token: str,
    expected_digest: str | None = None,
    *,
    workflow: str | None = None,
    kind: str | None = None,
    target: str | None = None,
    params: Mapping[str, Any] | None = None,
    audience: str | None = None,
    server_url: str | None = None,
    jwks_url: str | None = None,
    issuer: str | None = "signoff",
    redeem: bool = False,
    api_token: str | None = None,
    verifier: GrantVerifier | None = None,
) -> GrantClaims:
    """Verify ``token`` for this exact payload; with ``redeem=True`` also spend it (once).

    Give either ``expected_digest`` or ``workflow``/``kind``/``target``/``params``; the audience
    defaults to ``workflow``. ``jwks_url`` defaults to ``server_url + /.well-known/jwks.json``.
    Raises ``GrantRefused`` (bad signature, algorithm, audience, expiry, digest),
    ``AlreadyRedeemed`` (409, spent before), ``Unavailable`` (keys or server unreachable).
    """
    if verifier is None:
        url = jwks_url or (server_url.rstrip("/") + JWKS_PATH if server_url else None)
        if url is None:
            raise InvalidRequest("verify_grant needs jwks_url or server_url", field="jwks_url")
        verifier = _verifier_for(url, issuer)
    claims = verifier.verify(token, expected_digest, audience=audience, workflow=workflow,
                             kind=kind, target=target, params=params)
    if redeem:
        if not server_url:
            raise InvalidRequest("redeem=True needs server_url (and api_token)",
                                 field="server_url")
        with Client(server_url, api_token) as client:
            client.redeem(token, claims.digest)
    return claims
