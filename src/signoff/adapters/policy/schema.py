"""The parsed, validated policy document: plain frozen data, independent of CEL and YAML.

Also the two small value grammars of the format: durations (``15s``, ``30m``, ``4h``, ``1d``,
combinable as ``1h30m``, or plain seconds) and approver expressions (``owner``, ``backup``,
``reviewers``, ``agent_owner``, ``user:EMAIL``, ``group:NAME``, ``role:ROLE``). The services
resolve approver expressions into people; here we only make sure each one can name somebody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from signoff.domain.identities import Role
from signoff.domain.policy import Mode, QuorumFactor, Requirements, Tier

__all__ = [
    "PolicyDocument",
    "RuleOverrides",
    "RuleSpec",
    "SourceRef",
    "TierSpec",
    "approver_problem",
    "parse_duration",
]

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s:]+$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_KEYWORDS = ("owner", "backup", "reviewers", "agent_owner")


def parse_duration(value: object) -> int:
    """Seconds from ``30m``/``4h``/``15s``/``1d``/``1h30m`` or a non-negative int.

    Raises ``ValueError`` with the accepted forms, so the loader can pass it on as the hint.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15s, 30m, 4h or 1d, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, str):
        m = _DURATION.match(value.strip())
        if m and any(m.groups()):
            d, h, mi, s = (int(g or 0) for g in m.groups())
            return ((d * 24 + h) * 60 + mi) * 60 + s
    raise ValueError(f"{value!r} is not a duration; write e.g. 15s, 30m, 4h, 1d or 1h30m")


def approver_problem(expr: object) -> str | None:
    """Why ``expr`` names nobody, or None when it is a valid approver expression."""
    if not isinstance(expr, str):
        return f"approver {expr!r} must be a string"
    if expr in _KEYWORDS:
        return None
    kind, _, name = expr.partition(":")
    if kind == "user":
        return None if _EMAIL.match(name) else f"user approver {expr!r} needs an email: user:EMAIL"
    if kind == "group":
        return None if _GROUP.match(name) else f"group approver {expr!r} needs a name: group:NAME"
    if kind == "role":
        roles = ", ".join(f"role:{r.value}" for r in Role)
        return None if name in {r.value for r in Role} else \
            f"role approver {expr!r} names no role; use one of {roles}"
    if _EMAIL.match(expr):
        return f"approver {expr!r} is an email without 'user:'; write user:{expr}"
    return (f"unknown approver {expr!r}; use owner, backup, reviewers, agent_owner, "
            "user:EMAIL, group:NAME or role:ROLE")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where something was written: file and 1-based line/column."""

    file: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class TierSpec:
    """A tier's mode and base requirements; ``explicit_factors`` when it used ``require``."""

    tier: Tier
    mode: Mode
    requirements: Requirements
    explicit_factors: bool = False
    ref: SourceRef | None = None        # where it is written; None for a built-in default


@dataclass(frozen=True, slots=True)
class RuleOverrides:
    """What a rule adds to its tier's requirements; None means "not said"."""

    factors: tuple[tuple[tuple[str, ...], int | None], ...] = ()
    approvals: int | None = None
    min_review_seconds: int | None = None
    rationale_required: bool | None = None
    expires_in: int | None = None
    escalate_after: int | None = None
    post_review_sample: float | None = None
    grant_ttl: int | None = None

    def factor_list(self, default_count: int) -> list[QuorumFactor]:
        """Factors named by the rule, a missing count taking ``default_count``."""
        return [QuorumFactor(pool, default_count if c is None else c) for pool, c in self.factors]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    when: str
    tier: Tier | None
    deny: str | None
    description: str
    overrides: RuleOverrides
    ref: SourceRef
    when_ref: SourceRef
    when_style: str | None = None
    when_map: tuple[tuple[int, int, int], ...] = ()   # yamlnodes.source_map of the value


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    version: str
    default_tier: Tier
    tiers: dict[Tier, TierSpec]
    rules: tuple[RuleSpec, ...]
    files: tuple[str, ...]
