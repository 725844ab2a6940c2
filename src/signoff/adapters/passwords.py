"""Password hashing with argon2id (the console's sign-in)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    def __init__(self) -> None:
        self._ph = PasswordHasher()

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, hashed: str | None, password: str) -> bool:
        if not hashed:
            return False
        try:
            return self._ph.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
