"""State and decisions shared by ``Client`` and ``AsyncClient`` (and their lazy twins).

A sync client that gates an ``async def`` function (or the reverse) builds a twin of the other
flavour; twins share one ``Shared``: settings, the JWKS cache, the tier memory, the fail-open
journal and the queue of outcomes not yet reported. So a decision remembered by one flavour
counts for the other, and keys are fetched once.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from signoff.client.failopen import FailOpenJournal, TierMemory
from signoff.client.models import ActionRecord
from signoff.client.proposal import Impact, InputRef, build_proposal
from signoff.client.transport import RetryPolicy, Settings
from signoff.client.verify import JwksCache
from signoff.errors import InvalidRequest, ProtocolError

__all__ = ["Shared", "proposal_body", "unverified_action_id"]

log = logging.getLogger("signoff.client")

JWKS_PATH = "/.well-known/jwks.json"
OUTCOMES = ("succeeded", "failed")
MAX_WAIT_POLL = 60.0


@dataclass(slots=True)
class Shared:
    """Everything twins have in common."""

    settings: Settings
    memory: TierMemory = field(default_factory=TierMemory)
    journal: FailOpenJournal = field(default_factory=FailOpenJournal)
    jwks_cache: JwksCache = field(default_factory=JwksCache)
    unreported: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls, base_url: str | None, token: str | None, *, timeout: float, retry: RetryPolicy | None,
        transport: Any, memory: TierMemory | None, journal: FailOpenJournal | str | Path | None,
    ) -> Shared:
        settings = Settings.resolve(base_url, token, timeout=timeout,
                                    retry=retry or RetryPolicy(), transport=transport)
        if not isinstance(journal, FailOpenJournal):
            journal = FailOpenJournal(journal)
        return cls(settings=settings, memory=memory or TierMemory(), journal=journal)

    def note_unreported(self, action_id: str, status: str, detail: str) -> None:
        """An outcome that could not be sent; ``flush()`` retries it."""
        with self.lock:
            self.unreported[action_id] = {"status": status, "detail": detail}
        log.warning("signoff: outcome of %s not reported yet (%s); will retry on flush()",
                    action_id, status)

    def remember(self, record: ActionRecord) -> None:
        self.memory.remember(record.workflow, record.kind, tier=record.tier, mode=record.mode)


def proposal_body(
    workflow: str, kind: str, target: str, params: Mapping[str, Any] | None, *,
    summary: str, inputs: Iterable[InputRef | Mapping[str, Any]] | None,
    impact: Impact | Mapping[str, Any] | None, on_behalf_of: str | None, parent_id: str | None,
    chain: Iterable[str] | None, idempotency_key: str | None,
) -> dict[str, Any]:
    """Body for ``POST /v1/actions`` with a fresh idempotency key unless one is given.

    The key is generated once per *call*, before the first attempt, so every retry of the
    same call replays it and the server answers with the first action instead of a second one.
    """
    return build_proposal(
        workflow=workflow, kind=kind, target=target, params=params or {}, summary=summary,
        inputs=inputs, impact=impact, on_behalf_of=on_behalf_of, parent_id=parent_id,
        chain=chain, idempotency_key=idempotency_key or f"sdk-{uuid.uuid4().hex}",
    )


# RFC 7240: the background outcome sender needs no action record back.
RETURN_MINIMAL = {"Prefer": "return=minimal"}


def outcome_body(status: str, detail: str) -> dict[str, str]:
    if status not in OUTCOMES:
        raise InvalidRequest(f"outcome status must be one of {OUTCOMES}", field="status")
    return {"status": status, "detail": str(detail)[:2000]}


def direct_request(http: httpx.Client | httpx.AsyncClient, url: str, method: str, json: Any,
                   params: Mapping[str, Any] | None, timeout: Any,
                   headers: Mapping[str, str] | None) -> httpx.Request:
    """The request ``http`` would build, for handing straight to the SDK's own transport
    (``Client`` and ``AsyncClient`` skip httpx's client pipeline: no auth flow, redirects or
    cookies, none of which the SDK uses)."""
    if timeout is httpx.USE_CLIENT_DEFAULT:
        timeout = http.timeout
    merged = http.headers
    if headers:
        merged = httpx.Headers(merged)
        merged.update(headers)
    return httpx.Request(method, url, params=params, json=json, headers=merged,
                         extensions={"timeout": timeout.as_dict()})


OUTCOMES_PATH = "/v1/outcomes"
OutcomeItem = tuple[str, str, str]  # action id, status, detail


def outcome_batch_body(items: Iterable[OutcomeItem]) -> dict[str, Any]:
    return {"outcomes": [{"action_id": action_id, **outcome_body(status, detail)}
                         for action_id, status, detail in items]}


def batch_refusals(answer: Any, items: list[OutcomeItem]) -> dict[str, str]:
    """The reports of a batch the server refused, by action id, with its reason; an answer
    that is not one result per report is a ``ProtocolError``."""
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(items) or not all(
            isinstance(r, dict) and r.get("action_id") == item[0]
            for r, item in zip(results, items, strict=False)):
        raise ProtocolError("the outcome batch answer does not match the batch sent")
    return {r["action_id"]: str(r["error"].get("detail") if isinstance(r["error"], dict)
                                else r["error"])
            for r in results if r.get("error")}


def wait_slice(remaining: float | None, poll: float) -> float:
    """Seconds to ask the server to hold one long-poll open."""
    slice_ = min(poll, MAX_WAIT_POLL)
    if remaining is not None:
        slice_ = min(slice_, remaining)
    return max(slice_, 0.0)


def unverified_action_id(token: str) -> str | None:
    """The ``sub`` of a grant, read without verification: only used to look the action up."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, AttributeError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None
