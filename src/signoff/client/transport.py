"""What the sync and async clients share: settings, retry rules and reading answers.

The two clients only differ in how they wait (``time.sleep`` or ``asyncio.sleep``) and which
httpx client sends; everything that decides *whether* to retry and *what* an answer means lives
here once, so both sides of the SDK behave identically.

Retry rules (why they differ per call):

* ``Retry.SAFE`` - GET, the long-poll and propose (it carries an idempotency key, so the server
  answers a replay with the first result). Retried on any transport error and on 503.
* ``Retry.UNSENT`` - redeem, cancel, outcome. Retried only when the request provably never
  reached the server (connection refused, connect timeout). When the request may have been
  processed but the answer was lost, ``OutcomeUnknown`` is raised so the caller reconciles by
  reading the action instead of firing a second, blind request.
"""

from __future__ import annotations

import enum
import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from signoff.errors import ProtocolError, SignoffError, Unavailable, error_for_code

__all__ = [
    "OutcomeUnknown",
    "Retry",
    "RetryPolicy",
    "Settings",
    "parse_answer",
    "transport_error",
]

# Statuses whose non-problem answers come from a proxy in front of an unreachable signoff.
_GATEWAY_STATUSES = frozenset({502, 503, 504})


class OutcomeUnknown(Unavailable):
    """The request may have been processed but its answer was lost; nothing was retried."""

    code = "outcome_unknown"
    title = "Outcome unknown"


class Retry(enum.Enum):
    SAFE = "safe"
    UNSENT = "unsent"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``attempts`` counts the first try."""

    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 5.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        base = min(self.max_backoff, self.backoff * (2.0**attempt))
        return float(base * (0.5 + random.random() / 2))


@dataclass(frozen=True, slots=True)
class Settings:
    """How to reach signoff; ``None`` values fall back to ``SIGNOFF_URL`` / ``SIGNOFF_TOKEN``."""

    base_url: str
    token: str | None
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: Any = None  # an httpx (Async)BaseTransport, for tests and custom networking
    user_agent: str = "signoff-python"

    @classmethod
    def resolve(cls, base_url: str | None, token: str | None, **kw: Any) -> Settings:
        url = base_url or os.environ.get("SIGNOFF_URL") or "http://127.0.0.1:8000"
        return cls(base_url=url.rstrip("/"), token=token or os.environ.get("SIGNOFF_TOKEN"), **kw)

    def headers(self) -> dict[str, str]:
        out = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out


def is_unsent(exc: httpx.TransportError) -> bool:
    """True when httpx failed before a byte of the request could reach the server."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def transport_error(exc: httpx.TransportError, url: str, *, ambiguous: bool) -> Unavailable:
    if ambiguous:
        return OutcomeUnknown(
            f"the answer from signoff at {url} was lost ({type(exc).__name__}: {exc}); "
            "the request may have been processed"
        )
    return Unavailable(f"cannot reach signoff at {url}: {type(exc).__name__}: {exc}")


def should_retry(policy: Retry, *, status: int | None, exc: httpx.TransportError | None) -> bool:
    if exc is not None:
        return policy is Retry.SAFE or is_unsent(exc)
    return policy is Retry.SAFE and status == 503


def parse_answer(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the ``signoff.errors`` class the problem names."""
    if 200 <= response.status_code < 300:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProtocolError(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code} with a body that is not JSON: {_snippet(response)}"
            ) from None
    raise error_from_problem(response)


def error_from_problem(response: httpx.Response) -> SignoffError:
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        cls = error_for_code(body["code"])
        detail = body.get("detail")
        extra = {k: v for k, v in body.items()
                 if k not in ("type", "title", "status", "detail", "code") and k.isidentifier()}
        try:
            err = cls(detail if isinstance(detail, str) else "", **extra)
        except TypeError:  # a problem whose extra fields do not fit the class's signature
            err = cls(detail if isinstance(detail, str) else "")
        err.extra.setdefault("http_status", status)
        return err
    if status in _GATEWAY_STATUSES:
        return Unavailable(
            f"signoff answered {status} without a problem body: {_snippet(response)}"
        )
    return ProtocolError(
        f"{response.request.method} {response.request.url.path} answered {status} "
        f"without a problem+json body: {_snippet(response)}"
    )


def _snippet(response: httpx.Response, limit: int = 120) -> str:
    text = response.content[:limit].decode("utf-8", "replace")
    return repr(text) if text else "(empty)"
