"""What an agent proposes, and the digest that approvals and grants bind to."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from signoff.domain.canonical import canonical_json
from signoff.errors import InvalidRequest, PayloadTooLarge

__all__ = [
    "Action",
    "ActionRequest",
    "ActionStatus",
    "Impact",
    "InputRef",
    "TERMINAL_STATUSES",
    "canonical_json",
    "compute_digest",
    "check_params_shape",
]


class ActionStatus(StrEnum):
    DENIED = "denied"
    ALLOWED = "allowed"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset(
    {
        ActionStatus.DENIED,
        ActionStatus.REJECTED,
        ActionStatus.EXPIRED,
        ActionStatus.CANCELLED,
        ActionStatus.LAPSED,
        ActionStatus.SUCCEEDED,
        ActionStatus.FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class Impact:
    reversible: bool = True
    external: bool = False
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"reversible": self.reversible, "external": self.external,
                "description": self.description}


@dataclass(frozen=True, slots=True)
class InputRef:
    source: str
    ref: str = ""
    excerpt: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "excerpt": self.excerpt}


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """A proposal as the agent sent it; the first four fields are what executes."""

    workflow: str
    kind: str
    target: str
    params: dict[str, Any]
    summary: str = ""
    inputs: tuple[InputRef, ...] = ()
    impact: Impact = field(default_factory=Impact)
    on_behalf_of: str | None = None
    parent_id: str | None = None
    chain: tuple[str, ...] = ()
    idempotency_key: str | None = None

    @property
    def chain_depth(self) -> int:
        return len(self.chain)

    def payload(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "kind": self.kind, "target": self.target,
                "params": self.params}

    @property
    def digest(self) -> str:
        return compute_digest(self.workflow, self.kind, self.target, self.params)


def compute_digest(workflow: str, kind: str, target: str, params: dict[str, Any]) -> str:
    body = canonical_json({"workflow": workflow, "kind": kind, "target": target, "params": params})
    return "sha256:" + hashlib.sha256(body).hexdigest()


def check_params_shape(params: Any, *, max_bytes: int, max_depth: int) -> None:
    """Refuse params that are not an object, too large or nested too deep (before any work)."""
    if not isinstance(params, dict):
        raise InvalidRequest("params must be a JSON object", field="params")
    depth = _depth(params, 0, max_depth)
    if depth > max_depth:
        raise InvalidRequest(f"params are nested deeper than {max_depth} levels", field="params")
    size = len(json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_bytes:
        raise PayloadTooLarge(
            f"params are {size} bytes; the limit is {max_bytes}", field="params", limit=max_bytes
        )


def _depth(value: Any, level: int, limit: int) -> int:
    # Stop descending as soon as the limit is passed: hostile input may be very deep.
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1, limit) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1, limit) for v in value), default=level + 1)
    return level


@dataclass(slots=True)
class Action:
    """A stored action with its decision and lifecycle state."""

    id: str
    agent_id: str
    request: ActionRequest
    digest: str
    status: ActionStatus
    tier: str
    mode: str
    reasons: list[dict[str, str]]
    requirements: dict[str, Any]
    eligible: list[dict[str, Any]]        # resolved quorum factors (EligibleFactor.as_dict)
    policy_version: str
    created_at: Any                        # datetime (kept loose to stay cheap to build)
    expires_at: Any = None
    escalate_at: Any = None
    escalated_at: Any = None
    decided_at: Any = None
    post_review: bool = False              # sampled for post-action review
    post_review_verdict: str | None = None
    agent_owner_id: str = ""
    new_grant: Any = None                  # set on the proposal that issued it (not stored)

    @property
    def workflow(self) -> str:
        return self.request.workflow

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
