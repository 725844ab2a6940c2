"""Request bodies (``XCreate``) validated by Pydantic; answers are the services' records."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signoff.domain.actions import ActionRequest, Impact, InputRef
from signoff.errors import InvalidRequest

__all__ = [
    "ActionCreate", "AgentCreate", "CancelBody", "GroupCreate", "GroupMembers", "ImpactIn",
    "InputIn", "OutcomeCreate", "OwnerChange", "PostReviewCreate", "ReasonBody", "RedeemBody",
    "ReviewCreate", "TokenCreate", "UserCreate", "UserUpdate", "WorkflowCreate", "WorkflowUpdate",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ImpactIn(_Strict):
    reversible: bool = True
    external: bool = False
    description: str = Field("", max_length=10_000)


class InputIn(_Strict):
    source: str = Field(..., max_length=500)
    ref: str = Field("", max_length=2_000)
    excerpt: str = ""


class ActionCreate(_Strict):
    workflow: str = Field(..., min_length=1, max_length=200)
    kind: str = Field(..., min_length=1, max_length=200,
                      pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
    target: str = Field("", max_length=2_000)
    params: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""
    inputs: list[InputIn] = Field(default_factory=list, max_length=200)
    impact: ImpactIn = Field(default_factory=ImpactIn)
    on_behalf_of: str | None = Field(None, max_length=320)
    parent_id: str | None = Field(None, max_length=40)
    chain: list[str] = Field(default_factory=list, max_length=100)
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)
    redeem: bool = Field(False, description="Redeem at once if the policy allows it outright "
                                            "(answer: status executing).")

    def to_request(self, header_key: str | None = None) -> ActionRequest:
        """The domain request; ``header_key`` is an ``Idempotency-Key`` header, if any."""
        if self.idempotency_key and header_key and self.idempotency_key != header_key:
            raise InvalidRequest("Idempotency-Key header and body idempotency_key differ",
                                 field="idempotency_key")
        return ActionRequest(
            workflow=self.workflow, kind=self.kind, target=self.target, params=self.params,
            summary=self.summary,
            inputs=tuple(InputRef(source=i.source, ref=i.ref, excerpt=i.excerpt)
                         for i in self.inputs),
            impact=Impact(reversible=self.impact.reversible, external=self.impact.external,
                          description=self.impact.description),
            on_behalf_of=self.on_behalf_of, parent_id=self.parent_id, chain=tuple(self.chain),
            idempotency_key=self.idempotency_key or header_key)


class ReviewCreate(_Strict):
    verdict: str
    rationale: str = Field("", max_length=20_000)


class PostReviewCreate(_Strict):
    verdict: str
    note: str = Field("", max_length=20_000)


class CancelBody(_Strict):
    reason: str = Field("", max_length=2_000)


class ReasonBody(_Strict):
    reason: str = Field("", max_length=2_000)


class RedeemBody(_Strict):
    grant: str = Field(..., min_length=1, max_length=8_000)
    digest: str = Field(..., min_length=1, max_length=200)


class OutcomeCreate(_Strict):
    status: str
    detail: str = Field("", max_length=100_000)


class OutcomeReport(OutcomeCreate):
    action_id: str = Field(..., min_length=1, max_length=100)


class OutcomeBatch(_Strict):
    # One request, one transaction for many reports (the SDK's background sender).
    outcomes: list[OutcomeReport] = Field(..., min_length=1, max_length=100)


class UserCreate(_Strict):
    email: str = Field(..., min_length=3, max_length=320)
    name: str = Field("", max_length=200)
    roles: list[str] = Field(default_factory=list)
    password: str | None = Field(None, min_length=12, max_length=1_000)


class UserUpdate(_Strict):
    name: str | None = Field(None, max_length=200)
    roles: list[str] | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=12, max_length=1_000)


class TokenCreate(_Strict):
    name: str = Field("api", min_length=1, max_length=200)


class AgentCreate(_Strict):
    name: str = Field(..., min_length=1, max_length=200)
    owner: str = Field(..., min_length=3, max_length=320)
    scopes: dict[str, list[str]]
    labels: dict[str, str] = Field(default_factory=dict)


class WorkflowCreate(_Strict):
    name: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    owner: str = Field(..., min_length=3, max_length=320)
    backups: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class WorkflowUpdate(_Strict):
    backups: list[str] | None = None
    groups: list[str] | None = None
    labels: dict[str, str] | None = None


class OwnerChange(_Strict):
    owner: str = Field(..., min_length=3, max_length=320)


class GroupCreate(_Strict):
    name: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    members: list[str] = Field(default_factory=list)


class GroupMembers(_Strict):
    members: list[str]
