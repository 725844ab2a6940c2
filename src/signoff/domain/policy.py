"""The policy's decision about an action, and the interface every policy engine implements.

The core ships :class:`BuiltinTierTable` (a small table by kind prefix and impact); the CEL policy
engine of SPEC section 4 implements the same :class:`PolicyEvaluator` protocol, so the services
never know which one decided.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "BuiltinTierTable",
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

    @property
    def reason_messages(self) -> list[str]:
        return [r.message or r.rule_id for r in self.reasons]

    def with_mode(self, mode: Mode, reason: Reason) -> Decision:
        return replace(self, mode=mode, reasons=(*self.reasons, reason))


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


_TIER_MODES = {
    Tier.LOW: Mode.ALLOW,
    Tier.MEDIUM: Mode.ALLOW_AND_REVIEW,
    Tier.HIGH: Mode.REQUIRE_APPROVAL,
    Tier.CRITICAL: Mode.REQUIRE_APPROVAL,
}

_TIER_REQUIREMENTS = {
    Tier.LOW: Requirements(post_review_sample=0.02),
    Tier.MEDIUM: Requirements(post_review_sample=1.0),
    Tier.HIGH: Requirements(
        factors=(QuorumFactor(DEFAULT_APPROVERS, 1),), min_review_seconds=15,
        rationale_required=True, escalate_after=30 * 60, expires_in=4 * 3600,
    ),
    Tier.CRITICAL: Requirements(
        factors=(QuorumFactor(DEFAULT_APPROVERS, 2),), min_review_seconds=30,
        rationale_required=True, escalate_after=15 * 60, expires_in=3600, grant_ttl=120,
    ),
}

# Just-in-time elevation (issue 3): like the shipped default policy, the agent's own owner AND
# someone holding the admin role, two distinct people, and a short wait.
_ELEVATE_KIND = "signoff.agent.elevate"
_ELEVATION_REQUIREMENTS = Requirements(
    factors=(QuorumFactor(("agent_owner",), 1), QuorumFactor(("role:admin",), 1)),
    min_review_seconds=15, rationale_required=True, escalate_after=30 * 60, expires_in=3600,
)

# (kind prefix, tier); the first match wins, more specific prefixes first.
_PREFIX_TABLE: tuple[tuple[str, Tier], ...] = (
    ("secrets.", Tier.CRITICAL),
    ("payments.", Tier.HIGH),
    ("deploy.", Tier.HIGH),
    ("release.", Tier.HIGH),
    ("iam.", Tier.HIGH),
    ("signoff.agent.elevate", Tier.HIGH),
    ("email.", Tier.HIGH),
    ("data.delete", Tier.HIGH),
    ("draft.", Tier.LOW),
    ("summarise.", Tier.LOW),
    ("summarize.", Tier.LOW),
    ("route.", Tier.LOW),
    ("note.", Tier.LOW),
    ("read.", Tier.LOW),
)


class BuiltinTierTable:
    """The core's fallback classifier: by kind prefix, raised by irreversible or external impact.

    Unknown kinds get ``high``: an action nobody classified needs a human (fail closed).
    """

    def __init__(self) -> None:
        table = repr((_PREFIX_TABLE, _ELEVATION_REQUIREMENTS))
        self._version = "builtin:" + hashlib.sha256(table.encode()).hexdigest()[:16]

    @property
    def version(self) -> str:
        return self._version

    def decide(self, subject: PolicyInput) -> Decision:
        kind = str(subject.action.get("kind", ""))
        impact = subject.action.get("impact") or {}
        reasons: list[Reason] = []
        tier = Tier.HIGH
        for prefix, prefix_tier in _PREFIX_TABLE:
            if kind.startswith(prefix):
                tier = prefix_tier
                reasons.append(Reason(f"builtin.kind:{prefix}", f"kind {kind} is {tier}"))
                break
        else:
            reasons.append(Reason("builtin.default", f"kind {kind} is not classified: {tier}"))
        if (not impact.get("reversible", True) or impact.get("external", False)) \
                and tier.rank < Tier.HIGH.rank:
            tier = Tier.HIGH
            reasons.append(Reason("builtin.impact", "irreversible or external impact"))
        if int(subject.action.get("chain_depth", 0)) > 3 and tier.rank < Tier.HIGH.rank:
            tier = Tier.HIGH
            reasons.append(Reason("builtin.chain", "long agent-to-agent chain"))
        requirements = _TIER_REQUIREMENTS[tier]
        if kind == _ELEVATE_KIND and tier is Tier.HIGH:
            requirements = _ELEVATION_REQUIREMENTS
        return Decision(
            tier=tier,
            mode=_TIER_MODES[tier],
            reasons=tuple(reasons),
            requirements=requirements,
            policy_version=self._version,
            matched_rules=tuple(r.rule_id for r in reasons),
        )
