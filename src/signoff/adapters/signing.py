"""Ed25519 keys on disk, EdDSA grant JWTs and the JWKS that lets anyone verify them offline.

Keys live in ``<data_dir>/keys/ed25519-<kid>.pem`` with mode 0600 and are never overwritten.
The newest key signs; every key in the folder is published, so a rotation does not break
grants signed a moment before it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from signoff.errors import ConfigurationError, GrantRefused

__all__ = ["Ed25519Signer", "create_key", "load_keys"]

_PREFIX = "ed25519-"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def create_key(keys_dir: Path, *, now: datetime | None = None) -> str:
    """Write a new private key (0600) and return its kid; never replaces an existing file."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    kid = f"{stamp}-{hashlib.sha256(_raw_public(key.public_key())).hexdigest()[:8]}"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path = keys_dir / f"{_PREFIX}{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return kid


def load_keys(keys_dir: Path) -> list[tuple[str, Ed25519PrivateKey]]:
    """All keys, oldest first (kids start with a timestamp)."""
    if not keys_dir.is_dir():
        return []
    out: list[tuple[str, Ed25519PrivateKey]] = []
    for path in sorted(keys_dir.glob(f"{_PREFIX}*.pem")):
        mode = path.stat().st_mode & 0o077
        if mode:
            raise ConfigurationError(f"signing key {path} is readable by others; chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 key")
        out.append((path.stem.removeprefix(_PREFIX), key))
    return out


class Ed25519Signer:
    def __init__(self, keys: list[tuple[str, Ed25519PrivateKey]], *, issuer: str) -> None:
        if not keys:
            raise ConfigurationError("no signing key; run `signoff init` first")
        self._keys = dict(keys)
        self._kid, self._key = keys[-1]
        self.issuer = issuer
        self._jwks = {"keys": [
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
             "x": _b64url(_raw_public(k.public_key()))} for kid, k in keys]}

    @property
    def kid(self) -> str:
        return self._kid

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self._kid})

    def sign_bytes(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        return key.public_key() if key else None

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def verify(self, token: str, *, audience: str | None = None, verify_exp: bool = True
               ) -> dict[str, Any]:
        """Check a grant we issued; any flaw is a GrantRefused (fail closed)."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.public_key(str(header.get("kid", "")))
            if key is None:
                raise GrantRefused("grant signed by an unknown key")
            return jwt.decode(token, key, algorithms=["EdDSA"], issuer=self.issuer, leeway=0,
                              audience=audience, options={"verify_aud": audience is not None,
                                                          "verify_exp": verify_exp,
                                                          "verify_iat": verify_exp,
                                                          "verify_nbf": verify_exp,
                                                          "require": ["exp", "sub", "jti", "dig"]})
        except jwt.ExpiredSignatureError:
            raise GrantRefused("the grant has expired", reason="expired") from None
        except jwt.PyJWTError as exc:
            raise GrantRefused(f"invalid grant: {exc}", reason="invalid") from None
