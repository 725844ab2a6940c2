"""Real Ed25519 keys and grants for SDK tests (no server needed to sign)."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


@dataclass
class KeyPair:
    kid: str = field(default_factory=lambda: f"k-{uuid.uuid4().hex[:8]}")
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwk(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA",
                "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def grant(self, *, digest: str, workflow: str = "refunds", action_id: str = "act_1",
              kind: str = "payments.send", target: str = "cus_42", ttl: int = 300,
              **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": "signoff", "sub": action_id, "aud": workflow,
                  "jti": uuid.uuid4().hex, "iat": now, "exp": now + ttl, "dig": digest,
                  "knd": kind, "tgt": target}
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})
