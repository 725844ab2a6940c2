"""The policy's decision about an action, and the interface the policy engine implements.

The CEL policy engine of SPEC section 4 (``adapters/policy``) implements
:class:`PolicyEvaluator`; the services only see this protocol and the :class:`Decision` it
returns, never the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "Decision",
    "Mode",
    "PolicyEvaluator",
    "PolicyInput",
    "QuorumFactor",
    "Reason",
    "Requirements",
    "Tier",
    "DEFAULT_APPROVERS",
    "SYSTEM_POLICY_ACTOR",
]

SYSTEM_POLICY_ACTOR = "system:policy"

# Who may approve when the policy names nobody: the workflow's accountable owner, its backups
# and the members of the workflow's reviewer groups.
DEFAULT_APPROVERS: tuple[str, ...] = ("owner", "backup", "reviewers")


class Tier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]


_TIER_RANK = {Tier.LOW: 0, Tier.MEDIUM: 1, Tier.HIGH: 2, Tier.CRITICAL: 3}


class Mode(StrEnum):
    ALLOW = "allow"
    ALLOW_AND_REVIEW = "allow_and_review"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Reason:
    rule_id: str
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "message": self.message}


@dataclass(frozen=True, slots=True)
class QuorumFactor:
    """``count`` distinct humans from the pool named by ``approvers`` (approver expressions)."""

    approvers: tuple[str, ...]
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"from": list(self.approvers), "count": self.count}


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a pending action needs; all durations in seconds."""

    factors: tuple[QuorumFactor, ...] = (QuorumFactor(DEFAULT_APPROVERS, 1),)
    min_review_seconds: int = 0
    rationale_required: bool = False
    expires_in: int = 4 * 3600
    escalate_after: int | None = None
    post_review_sample: float = 0.0
    grant_ttl: int = 300

    @property
    def approvals(self) -> int:
        return sum(f.count for f in self.factors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "approvals": self.approvals,
            "factors": [f.as_dict() for f in self.factors],
            "min_review_seconds": self.min_review_seconds,
            "rationale_required": self.rationale_required,
            "expires_in": self.expires_in,
            "escalate_after": self.escalate_after,
            "post_review_sample": self.post_review_sample,
            "grant_ttl": self.grant_ttl,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    tier: Tier
    mode: Mode
    reasons: tuple[Reason, ...]
    requirements: Requirements
    policy_version: str
    matched_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """The variables a policy sees (SPEC section 4): plain data, built once per decision."""

    action: dict[str, Any]      # workflow, kind, target, params, impact, chain_depth, summary
    agent: dict[str, Any]       # id, name, owner, labels
    workflow: dict[str, Any]    # name, owner, labels
    requester: str | None
    now: datetime
    extra: dict[str, Any] = field(default_factory=dict)


class PolicyEvaluator(Protocol):
    """Anything that can classify an action; implementations are shared across threads."""

    @property
    def version(self) -> str: ...

    def decide(self, subject: PolicyInput) -> Decision: ...

