"""/v1/fail-open: the SDK reports calls it ran while signoff was unreachable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from signoff.api.deps import app_of, principal_of
from signoff.api.schemas import ImpactIn, InputIn
from signoff.domain.actions import ActionRequest, Impact, InputRef
from signoff.domain.identities import Principal
from signoff.services import queries
from signoff.services.fail_open import FailOpenReport, record_fail_open

__all__ = ["FailOpenCreate", "router"]

router = APIRouter(tags=["actions"])
Caller = Annotated[Principal, Depends(principal_of)]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    detail: str = Field("", max_length=100_000)


class FailOpenCreate(BaseModel):
    """The body of ``signoff.client.failopen.FailOpenRecord.as_body()``, field for field."""

    model_config = ConfigDict(extra="forbid")
    idempotency_key: str = Field(..., min_length=1, max_length=200)
    workflow: str = Field(..., min_length=1, max_length=200)
    kind: str = Field(..., min_length=1, max_length=200,
                      pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
    target: str = Field("", max_length=2_000)
    params: dict[str, Any] = Field(default_factory=dict)
    digest: str = Field(..., min_length=1, max_length=100)
    remembered_tier: str = Field(..., min_length=1, max_length=20)
    unavailable_reason: str = Field("", max_length=10_000)
    started_at: str = Field(..., min_length=1, max_length=64)
    summary: str = ""
    inputs: list[InputIn] = Field(default_factory=list, max_length=200)
    impact: ImpactIn | None = None
    on_behalf_of: str | None = Field(None, max_length=320)
    parent_id: str | None = Field(None, max_length=40)
    chain: list[str] = Field(default_factory=list, max_length=100)
    finished_at: str | None = Field(None, max_length=64)
    outcome: OutcomeIn | None = None

    def report(self) -> FailOpenReport:
        impact = self.impact or ImpactIn(description="")
        request = ActionRequest(
            workflow=self.workflow, kind=self.kind, target=self.target, params=self.params,
            summary=self.summary,
            inputs=tuple(InputRef(source=i.source, ref=i.ref, excerpt=i.excerpt)
                         for i in self.inputs),
            impact=Impact(reversible=impact.reversible, external=impact.external,
                          description=impact.description),
            on_behalf_of=self.on_behalf_of, parent_id=self.parent_id, chain=tuple(self.chain),
            idempotency_key=self.idempotency_key)
        return FailOpenReport(
            request=request, digest=self.digest, remembered_tier=self.remembered_tier,
            unavailable_reason=self.unavailable_reason, started_at=self.started_at,
            finished_at=self.finished_at,
            outcome=self.outcome.model_dump() if self.outcome is not None else None)


@router.post("/v1/fail-open", status_code=201)
def report_fail_open(body: FailOpenCreate, request: Request, response: Response,
                     principal: Caller) -> dict[str, Any]:
    """Audit one fail-open run (agents only); 201 when recorded now, 200 for a repeat."""
    ctx = app_of(request).ctx
    action, created = record_fail_open(ctx, principal, body.report())
    if not created:
        response.status_code = 200
    with ctx.uow(readonly=True) as uow:
        fresh = uow.actions.get(action.id) or action
        return queries.action_record(uow, fresh, principal, now=ctx.now(), timeline=False)
