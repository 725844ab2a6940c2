"""Typed answers from the signoff API, parsed defensively.

Every answer goes through a small reader that checks types as it goes: a missing key or a value
of the wrong shape becomes ``signoff.errors.ProtocolError`` naming the field, never a KeyError
or TypeError deep inside the caller's code. Optional fields default to empty; the whole answer
is kept in ``raw`` so newer server fields stay reachable without an SDK upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signoff.errors import ProtocolError

__all__ = [
    "ActionRecord",
    "GrantInfo",
    "PolicyCheck",
    "Outcome",
    "Quorum",
    "Reason",
    "Redemption",
    "Review",
    "STATUSES",
    "TERMINAL_STATUSES",
    "TimelineEvent",
]

STATUSES = frozenset({
    "denied", "allowed", "pending", "approved", "rejected", "expired", "cancelled", "lapsed",
    "executing", "succeeded", "failed",
})
TERMINAL_STATUSES = frozenset(
    {"denied", "rejected", "expired", "cancelled", "lapsed", "succeeded", "failed"}
)


class _Reader:
    """Typed access to one JSON object; every failure names the object and the key."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ProtocolError(f"{where}: expected a JSON object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where

    def _bad(self, key: str, want: str) -> ProtocolError:
        got = type(self.data.get(key)).__name__ if key in self.data else "nothing"
        return ProtocolError(f"{self.where}: {key!r} should be {want}, got {got}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value = self.data.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer")
        return value

    def obj(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def time(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise self._bad(key, "an ISO 8601 timestamp") from None


@dataclass(frozen=True, slots=True)
class Reason:
    rule_id: str
    message: str

    @classmethod
    def parse(cls, data: Any) -> Reason:
        r = _Reader(data, "reason")
        return cls(rule_id=r.opt_text("rule_id") or "", message=r.opt_text("message") or "")


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """What the policy would decide for a proposal now (``POST /v1/policy/check``)."""

    mode: str
    tier: str | None
    reasons: tuple[Reason, ...]
    matched_rules: tuple[str, ...]
    policy_version: str

    @property
    def denied(self) -> bool:
        return self.mode == "deny"

    @classmethod
    def parse(cls, data: Any) -> PolicyCheck:
        r = _Reader(data, "policy check")
        raw = data.get("reasons") if isinstance(data, dict) else None
        rules = data.get("matched_rules") if isinstance(data, dict) else None
        return cls(mode=r.opt_text("mode") or "deny", tier=r.opt_text("tier"),
                   reasons=tuple(Reason.parse(x) for x in raw or ()),
                   matched_rules=tuple(str(x) for x in rules or ()),
                   policy_version=r.opt_text("policy_version") or "")


@dataclass(frozen=True, slots=True)
class Quorum:
    required: int
    approvals: int
    short_by: int

    @classmethod
    def parse(cls, data: Any) -> Quorum:
        r = _Reader(data, "quorum")
        return cls(required=r.integer("required"), approvals=r.integer("approvals"),
                   short_by=r.integer("short_by"))


@dataclass(frozen=True, slots=True)
class GrantInfo:
    """The grant's state on the server; ``token`` is only shown to the action's own agent."""

    jti: str
    state: str
    expires_at: datetime | None
    token: str | None

    @classmethod
    def parse(cls, data: Any) -> GrantInfo:
        r = _Reader(data, "grant")
        return cls(jti=r.text("jti"), state=r.text("state"), expires_at=r.time("expires_at"),
                   token=r.opt_text("token"))


@dataclass(frozen=True, slots=True)
class Review:
    reviewer_id: str
    verdict: str
    rationale: str
    first_viewed_at: datetime | None
    decided_at: datetime | None
    stage: str

    @classmethod
    def parse(cls, data: Any) -> Review:
        r = _Reader(data, "review")
        return cls(reviewer_id=r.opt_text("reviewer_id") or "", verdict=r.text("verdict"),
                   rationale=r.opt_text("rationale") or "",
                   first_viewed_at=r.time("first_viewed_at"), decided_at=r.time("decided_at"),
                   stage=r.opt_text("stage") or "pre")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    detail: str
    reported_by: str
    at: datetime | None

    @classmethod
    def parse(cls, data: Any) -> Outcome:
        r = _Reader(data, "outcome")
        return cls(status=r.text("status"), detail=r.opt_text("detail") or "",
                   reported_by=r.opt_text("reported_by") or "", at=r.time("at"))


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    seq: int
    at: datetime | None
    actor: str
    type: str
    data: dict[str, Any]

    @classmethod
    def parse(cls, data: Any) -> TimelineEvent:
        r = _Reader(data, "timeline event")
        return cls(seq=r.integer("seq"), at=r.time("at"), actor=r.opt_text("actor") or "",
                   type=r.text("type"), data=r.obj("data"))


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action as the server sees it: what executes, the decision, and where it stands."""

    id: str
    status: str
    tier: str
    mode: str
    digest: str
    workflow: str
    kind: str
    target: str
    params: dict[str, Any]
    reasons: tuple[Reason, ...] = ()
    summary: str = ""
    agent_id: str = ""
    parent_id: str | None = None
    chain: tuple[str, ...] = ()
    on_behalf_of: str | None = None
    policy_version: str = ""
    requirements: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    quorum: Quorum | None = None
    grant: GrantInfo | None = None
    reviews: tuple[Review, ...] = ()
    outcome: Outcome | None = None
    timeline: tuple[TimelineEvent, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def runnable(self) -> bool:
        """True when a grant may be redeemed: the policy allowed it or humans approved it."""
        return self.status in ("allowed", "approved")

    @classmethod
    def parse(cls, data: Any) -> ActionRecord:
        r = _Reader(data, "action record")
        status = r.text("status")
        if status not in STATUSES:
            raise ProtocolError(f"action record: unknown status {status!r}")
        chain = r.array("chain")
        if not all(isinstance(item, str) for item in chain):
            raise ProtocolError("action record: 'chain' should be a list of agent ids")
        quorum, grant, outcome = (r.data.get(k) for k in ("quorum", "grant", "outcome"))
        return cls(
            id=r.text("id"), status=status, tier=r.text("tier"), mode=r.text("mode"),
            digest=r.text("digest"), workflow=r.text("workflow"), kind=r.text("kind"),
            target=r.text("target"), params=r.obj("params"),
            reasons=tuple(Reason.parse(x) for x in r.array("reasons")),
            summary=r.opt_text("summary") or "", agent_id=r.opt_text("agent_id") or "",
            parent_id=r.opt_text("parent_id"), chain=tuple(chain),
            on_behalf_of=r.opt_text("on_behalf_of"),
            policy_version=r.opt_text("policy_version") or "",
            requirements=r.obj("requirements"), created_at=r.time("created_at"),
            expires_at=r.time("expires_at"), decided_at=r.time("decided_at"),
            quorum=Quorum.parse(quorum) if quorum is not None else None,
            grant=GrantInfo.parse(grant) if grant is not None else None,
            reviews=tuple(Review.parse(x) for x in r.array("reviews")),
            outcome=Outcome.parse(outcome) if outcome is not None else None,
            timeline=tuple(TimelineEvent.parse(x) for x in r.array("timeline")),
            raw=r.data,
        )


@dataclass(frozen=True, slots=True)
class Redemption:
    """The server's receipt for a redeemed grant: from here the action is ``executing``."""

    action_id: str
    jti: str
    status: str
    redeemed_at: datetime | None

    @classmethod
    def parse(cls, data: Any) -> Redemption:
        r = _Reader(data, "redemption")
        return cls(action_id=r.text("action_id"), jti=r.text("jti"), status=r.text("status"),
                   redeemed_at=r.time("redeemed_at"))
