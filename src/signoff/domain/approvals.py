"""The lifecycle rules a human review must pass, and when a quorum is met.

Pure functions over plain data: the services load the facts, call these, and persist the result.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from signoff.domain.actions import ActionStatus
from signoff.domain.policy import Tier
from signoff.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    RationaleRequired,
    ReviewTooSoon,
)

__all__ = [
    "EligibleFactor",
    "PostVerdict",
    "Review",
    "QuorumState",
    "ReviewSubject",
    "Verdict",
    "check_review",
    "eligible_pool",
    "in_post_review_sample",
    "quorum_state",
    "MIN_RATIONALE_CHARS",
]

MIN_RATIONALE_CHARS = 10


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class PostVerdict(StrEnum):
    OK = "ok"
    FLAG = "flag"


@dataclass(frozen=True, slots=True)
class EligibleFactor:
    """One quorum factor with its pool resolved to user ids at decision time (kept for history)."""

    label: str
    pool: frozenset[str]
    count: int

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "pool": sorted(self.pool), "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> EligibleFactor:
        pool = data.get("pool") or []
        assert isinstance(pool, list)
        return cls(label=str(data.get("label", "")), pool=frozenset(str(p) for p in pool),
                   count=int(data.get("count", 1)))  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class QuorumState:
    met: bool
    short_by: int
    counted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReviewSubject:
    """The facts about a pending action that decide whether a review is acceptable."""

    status: ActionStatus
    tier: Tier
    factors: tuple[EligibleFactor, ...]
    on_behalf_of: str | None
    agent_owner_id: str
    min_review_seconds: int
    rationale_required: bool
    reviewed_by: frozenset[str]


def eligible_pool(factors: Iterable[EligibleFactor]) -> frozenset[str]:
    out: set[str] = set()
    for f in factors:
        out |= f.pool
    return frozenset(out)


def check_review(
    subject: ReviewSubject,
    *,
    reviewer_id: str,
    verdict: Verdict,
    rationale: str,
    first_viewed_at: datetime | None,
    now: datetime,
) -> None:
    """Raise the error that refuses this review, or return if it may be recorded."""
    if subject.status is not ActionStatus.PENDING:
        raise Conflict(f"the action is {subject.status}, not pending",
                       status_now=str(subject.status))
    if reviewer_id not in eligible_pool(subject.factors):
        raise Forbidden("you are not an eligible approver for this action")
    if verdict is Verdict.APPROVE and subject.on_behalf_of == reviewer_id:
        raise Forbidden("the person an action is done on behalf of cannot approve it")
    if reviewer_id in subject.reviewed_by:
        raise Conflict("you have already reviewed this action; a person counts once")
    if subject.rationale_required and len(rationale.strip()) < MIN_RATIONALE_CHARS:
        raise RationaleRequired(
            f"a rationale of at least {MIN_RATIONALE_CHARS} characters is required",
            field="rationale",
        )
    if subject.min_review_seconds > 0:
        if first_viewed_at is None:
            raise ReviewTooSoon(
                "open the full detail of the action before deciding",
                seconds_left=subject.min_review_seconds,
            )
        elapsed = (now - first_viewed_at).total_seconds()
        if elapsed < subject.min_review_seconds:
            left = math.ceil(subject.min_review_seconds - elapsed)
            raise ReviewTooSoon(
                f"review for at least {subject.min_review_seconds}s; {left}s left",
                seconds_left=left,
            )


def check_verdict(value: str) -> Verdict:
    try:
        return Verdict(value)
    except ValueError:
        raise InvalidRequest("verdict must be 'approve' or 'reject'", field="verdict") from None


def quorum_state(
    factors: Sequence[EligibleFactor],
    approvers: Sequence[str],
    *,
    tier: Tier,
    agent_owner_id: str,
) -> QuorumState:
    """Whether the approvals meet every factor, one person filling at most one slot.

    Slots are matched to approvers with augmenting paths (tiny bipartite matching), so
    "the owner and someone from security" is never met by one person who is in both pools.
    At ``critical``, the agent's own owner alone never meets the quorum.
    """
    slots: list[frozenset[str]] = [f.pool for f in factors for _ in range(f.count)]
    people = list(dict.fromkeys(approvers))
    # Offer slots to the agent's owner last, so anyone else fills a slot first.
    people.sort(key=lambda p: p == agent_owner_id)
    match = _max_matching(slots, people)
    filled = len(match)
    short = len(slots) - filled
    counted = tuple(match.values())
    if short == 0 and tier is Tier.CRITICAL and set(counted) == {agent_owner_id}:
        short = 1
    return QuorumState(met=short == 0, short_by=short, counted=counted)


def _max_matching(slots: list[frozenset[str]], people: list[str]) -> dict[int, str]:
    slot_of: dict[str, int] = {}
    person_in: dict[int, str] = {}

    def try_assign(person: str, seen: set[int]) -> bool:
        for i, pool in enumerate(slots):
            if person not in pool or i in seen:
                continue
            seen.add(i)
            holder = person_in.get(i)
            if holder is None or try_assign(holder, seen):
                person_in[i] = person
                slot_of[person] = i
                return True
        return False

    for person in people:
        try_assign(person, set())
    return person_in


def in_post_review_sample(action_id: str, rate: float) -> bool:
    """Deterministic sampling by action id, so the choice is reproducible from the record."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    bucket = int.from_bytes(hashlib.sha256(action_id.encode()).digest()[:8], "big") / 2**64
    return bucket < rate


@dataclass(slots=True)
class Review:
    id: str
    action_id: str
    reviewer_id: str
    verdict: str                    # approve | reject | ok | flag
    rationale: str
    first_viewed_at: datetime | None
    decided_at: datetime
    stage: str = "pre"              # pre (approval) | post (post-action review)
    auth_method: str = "token"
