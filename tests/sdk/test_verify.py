from __future__ import annotations

import base64
import json
import socket
import time

import jwt
import pytest
from sdk_helpers import KeyPair

from signoff.client import GrantVerifier, JwksCache, compute_digest, verify_grant
from signoff.errors import GrantRefused, InvalidRequest, Unavailable

PARAMS = {"amount": 120, "currency": "EUR"}
DIGEST = compute_digest("refunds", "payments.send", "cus_42", PARAMS)
FIELDS = {"workflow": "refunds", "kind": "payments.send", "target": "cus_42", "params": PARAMS}


class Counter:
    def __init__(self, *docs: dict) -> None:
        self.docs = list(docs)
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return self.docs[min(self.calls, len(self.docs)) - 1]


def verifier_for(*keys: KeyPair, **kw: object) -> tuple[GrantVerifier, Counter]:
    fetch = Counter({"keys": [k.jwk() for k in keys]})
    return GrantVerifier(fetch=fetch, **kw), fetch  # type: ignore[arg-type]


def test_valid_grant_for_these_exact_arguments() -> None:
    key = KeyPair()
    verifier, fetch = verifier_for(key)
    claims = verifier.verify(key.grant(digest=DIGEST), **FIELDS)
    assert (claims.action_id, claims.digest, claims.workflow) == ("act_1", DIGEST, "refunds")
    verifier.verify(key.grant(digest=DIGEST), DIGEST, audience="refunds")
    assert fetch.calls == 1  # the JWKS is cached


def test_grant_for_other_arguments_is_refused() -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    token = key.grant(digest=DIGEST)
    with pytest.raises(GrantRefused, match="digest"):
        verifier.verify(token, **{**FIELDS, "params": {"amount": 12000, "currency": "EUR"}})
    with pytest.raises(GrantRefused, match="different target"):
        verifier.verify(key.grant(digest=DIGEST, target="cus_7"), **FIELDS)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [({"aud": "payroll"}, "not for workflow"), ({"exp": int(time.time()) - 60}, "expired"),
     ({"iss": "someone-else"}, "invalid")],
)
def test_audience_expiry_and_issuer(overrides: dict, match: str) -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    with pytest.raises(GrantRefused, match=match):
        verifier.verify(key.grant(digest=DIGEST, **overrides), **FIELDS)


def test_tampered_payload_breaks_the_signature() -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    head, body, sig = key.grant(digest="sha256:" + "0" * 64).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["dig"] = DIGEST
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(GrantRefused, match="invalid"):
        verifier.verify(f"{head}.{forged}.{sig}", **FIELDS)


def test_none_and_hmac_algorithms_are_refused() -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    claims = {"iss": "signoff", "sub": "act_1", "aud": "refunds", "jti": "j", "dig": DIGEST,
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": key.kid})
    with pytest.raises(GrantRefused, match="only EdDSA"):
        verifier.verify(unsigned, **FIELDS)
    # HS256 keyed with the public JWK's bytes: the classic key-confusion forgery.
    hs = jwt.encode(claims, key.jwk()["x"].encode() * 2, algorithm="HS256",
                    headers={"kid": key.kid})
    with pytest.raises(GrantRefused, match="only EdDSA"):
        verifier.verify(hs, **FIELDS)
    with pytest.raises(GrantRefused, match="compact JWT"):
        verifier.verify("not-a-token", **FIELDS)


def _segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(("header", "match"), [
    ("!!!!", "header unreadable"),  # not the base64url alphabet
    ("eyJ", "header unreadable"),  # a length base64 cannot have
    ("eyJhbGciOiJFZERTQSJ9===", "header unreadable"),  # three pads
    (_segment(b"{not json"), "header unreadable"),
    (_segment(["EdDSA"]), "not a JSON object"),
    (_segment({"alg": "EdDSA"}), "no kid"),
    (_segment({"alg": "EdDSA", "kid": ""}), "no kid"),
    (_segment({"alg": "ES256", "kid": "k"}), "only EdDSA"),
])
def test_a_malformed_header_is_refused_before_any_key_is_chosen(header: str, match: str) -> None:
    key = KeyPair()
    verifier, fetch = verifier_for(key)
    _, body, sig = key.grant(digest=DIGEST).split(".")
    with pytest.raises(GrantRefused, match=match):
        verifier.verify(f"{header}.{body}.{sig}", **FIELDS)
    assert fetch.calls == 0  # refused before the JWKS was needed


def test_the_header_read_to_choose_the_key_is_still_checked_by_the_signature() -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    _, body, sig = key.grant(digest=DIGEST).split(".")
    other = _segment({"alg": "EdDSA", "kid": key.kid, "typ": "JWT", "x": 1})
    with pytest.raises(GrantRefused, match="invalid"):
        verifier.verify(f"{other}.{body}.{sig}", **FIELDS)


def test_signed_by_a_stranger_is_refused_and_refresh_is_rate_limited() -> None:
    key, stranger = KeyPair(), KeyPair()
    now = [0.0]
    fetch = Counter(key.jwks())
    verifier = GrantVerifier(fetch=fetch, cache=JwksCache(min_refresh_interval=30,
                                                          clock=lambda: now[0]))
    verifier.verify(key.grant(digest=DIGEST), **FIELDS)
    now[0] = 31.0
    for _ in range(5):
        with pytest.raises(GrantRefused, match="unknown key"):
            verifier.verify(stranger.grant(digest=DIGEST), **FIELDS)
    assert fetch.calls == 2  # one refresh for the unknown kid, not one per forged token


def test_unknown_kid_refreshes_after_rotation() -> None:
    old, new = KeyPair(), KeyPair()
    now = [0.0]
    fetch = Counter(old.jwks(), {"keys": [old.jwk(), new.jwk()]})
    verifier = GrantVerifier(fetch=fetch, cache=JwksCache(clock=lambda: now[0]))
    verifier.verify(old.grant(digest=DIGEST), **FIELDS)
    now[0] = 40.0
    assert verifier.verify(new.grant(digest=DIGEST), **FIELDS).kid == new.kid
    assert fetch.calls == 2


def test_binding_is_mandatory() -> None:
    key = KeyPair()
    verifier, _ = verifier_for(key)
    with pytest.raises(InvalidRequest):
        verifier.verify(key.grant(digest=DIGEST), audience="refunds")
    with pytest.raises(InvalidRequest):
        verifier.verify(key.grant(digest=DIGEST), DIGEST)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_jwks_fails_closed() -> None:
    key = KeyPair()
    url = f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json"
    with pytest.raises(Unavailable):
        verify_grant(key.grant(digest=DIGEST), jwks_url=url, **FIELDS)


async def test_async_verify() -> None:
    key = KeyPair()

    async def afetch() -> dict:
        return key.jwks()

    verifier = GrantVerifier(afetch=afetch)
    claims = await verifier.averify(key.grant(digest=DIGEST), **FIELDS)
    assert claims.jti
