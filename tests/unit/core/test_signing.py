"""Grants are standard EdDSA JWTs: PyJWT (any JWT library) verifies what the signer writes."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from signoff.adapters.signing import Ed25519Signer, create_key, load_keys
from signoff.errors import GrantRefused


def test_a_signed_grant_verifies_with_pyjwt_and_the_published_key(tmp_path: Path) -> None:
    create_key(tmp_path)
    signer = Ed25519Signer(load_keys(tmp_path), issuer="signoff-test")
    now = int(time.time())
    claims = {"iss": "signoff-test", "sub": "act_1", "aud": "signoff:w:k", "jti": "gr_1",
              "iat": now, "exp": now + 60, "dig": "sha256:" + "0" * 64, "knd": "k",
              "tgt": "Ünïcode target"}
    token = signer.sign(claims)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": signer.kid, "typ": "JWT"}
    jwk = jwt.PyJWK(signer.jwks()["keys"][0])
    assert jwt.decode(token, jwk, algorithms=["EdDSA"], audience="signoff:w:k") == claims
    assert signer.verify(token, audience="signoff:w:k") == claims
    head, body, sig = token.split(".")
    forged = ".".join([head, body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1], sig])
    with pytest.raises(GrantRefused):
        signer.verify(forged, audience="signoff:w:k")
