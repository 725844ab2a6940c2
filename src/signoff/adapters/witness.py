"""External witnesses for signed checkpoints: a JSONL file and/or an HTTP endpoint.

Whoever holds the database could rewrite it and re-sign nothing: the checkpoints a witness
already holds (appended to a file on other storage, or POSTed to another party) still commit to
the old hashes, so ``signoff audit verify --witness FILE`` exposes the rewrite or a truncation.
Publishing is best effort and never blocks sealing: a failed POST is logged and reported to an
operator who asked for the checkpoint, and the next checkpoint commits to everything before it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature

from signoff.errors import InvalidRequest

__all__ = ["FileWitness", "HttpWitness", "read_witness_file", "signature_checker",
           "signature_of"]

log = logging.getLogger("signoff.audit")


def signature_of(signer: Any, body: bytes) -> str:
    return base64.urlsafe_b64encode(signer.sign_bytes(body)).rstrip(b"=").decode()


def signature_checker(signer: Any) -> Callable[[str, bytes, str], bool]:
    """``(kid, body, signature) -> bool`` against the keys this server publishes in its JWKS."""
    def verify(kid: str, body: bytes, signature: str) -> bool:
        key = signer.public_key(kid)
        if key is None:
            return False
        try:
            key.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), body)
        except (InvalidSignature, ValueError):
            return False
        return True
    return verify


class FileWitness:
    """Appends one JSON line per checkpoint; O_APPEND keeps lines whole across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return f"file {self.path}"

    def publish(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


class HttpWitness:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout

    def __str__(self) -> str:
        return f"url {self.url}"

    def publish(self, record: dict[str, Any]) -> None:
        response = httpx.post(self.url, json=record, timeout=self.timeout)
        response.raise_for_status()


def read_witness_file(path: Path) -> list[dict[str, Any]]:
    """Checkpoints held by a witness; a missing or garbled file is a one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidRequest(f"cannot read witness file {path}: {reason}") from None
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InvalidRequest(f"witness file {path} line {number} is not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise InvalidRequest(f"witness file {path} line {number} is not a checkpoint")
        records.append(record)
    return records
