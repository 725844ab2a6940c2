"""/v1/actions, /v1/inbox, /v1/reviews/post-action and /v1/grants/redeem."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from signoff.api.deps import app_of, principal_of
from signoff.api.responses import json_body, json_response, parse_body
from signoff.api.schemas import (
    ActionCreate,
    CancelBody,
    OutcomeBatch,
    OutcomeCreate,
    PostReviewCreate,
    RedeemBody,
    ReviewCreate,
)
from signoff.domain.identities import Principal
from signoff.errors import InvalidRequest
from signoff.services import actions, grants, outcomes, queries, reviews

router = APIRouter(tags=["actions"])
Caller = Annotated[Principal, Depends(principal_of)]


def _propose(request: Request, body: ActionCreate, idempotency_key: str | None) -> Response:
    ctx = app_of(request).ctx
    principal = principal_of(request, for_proposal=True)  # the token is confirmed in the unit
    action, created = actions.submit_action(ctx, principal, body.to_request(idempotency_key),
                                            redeem=body.redeem)
    if created:
        return json_response(queries.build_record(
            action, principal, now=ctx.now(), reviews=[], grant=action.new_grant,
            outcome=None, events=None), 201)
    with ctx.uow(readonly=True) as uow:
        return json_response(queries.action_record(uow, action, principal, now=ctx.now(),
                                                   timeline=False))


# The body is parsed by pydantic-core straight from the bytes, without FastAPI's dependency
# machinery: this is the hottest endpoint, and that machinery cost more than the parse itself
# (5 % of a proposal's instructions). OpenAPI still documents the body; bad input is the same 422.
@router.post("/v1/actions", status_code=201, response_model=None, openapi_extra=json_body(
    ActionCreate, {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}))
async def propose(request: Request) -> Response:
    """201 with the action record; 200 with the first record for a repeated idempotency key."""
    body = parse_body(ActionCreate, await request.body())
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
        raise InvalidRequest("Idempotency-Key must be 1-200 characters", field="idempotency_key")
    return await _write(request, _propose, request, body, idempotency_key)


async def _write(request: Request, use_case: Callable[..., Response], *args: Any) -> Response:
    """Run a hot write (authentication included) where the database wants it: on the loop
    for SQLite, in one worker-thread hop otherwise (see ``Signoff.writes_on_loop``)."""
    if app_of(request).writes_on_loop:
        return use_case(*args)
    return await run_in_threadpool(use_case, *args)


@router.get("/v1/actions")
def list_actions(request: Request, principal: Caller,
                 status: Annotated[list[str] | None, Query()] = None,
                 workflow: str | None = None, agent: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 before: str | None = None) -> dict[str, Any]:
    items = queries.list_actions(app_of(request).ctx, principal, status=status,
                                 workflow=workflow, agent_id=agent, limit=limit, before=before)
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/v1/actions/{action_id}", response_model=None)
def get_action(action_id: str, request: Request, principal: Caller) -> Response:
    return json_response(queries.get_action(app_of(request).ctx, principal, action_id))


def _wait_check(request: Request, action_id: str, principal: Principal | None,
                final: bool) -> tuple[Principal, dict[str, Any] | None]:
    principal = principal or principal_of(request)
    _, record = queries.action_status(app_of(request).ctx, principal, action_id,
                                      always_record=final)
    return principal, record


@router.get("/v1/actions/{action_id}/wait", response_model=None)
async def wait(action_id: str, request: Request,
               timeout: Annotated[float, Query(ge=0)] = 30.0) -> Response:
    """Long-poll: no database connection and no thread is held while waiting."""
    app = app_of(request)
    timeout = min(timeout, app.settings.max_wait_seconds)
    deadline = time.monotonic() + timeout
    principal: Principal | None = None
    while True:
        with app.hub.register(action_id) as waiter:
            # Registered before the check, so a decision in between still wakes us.
            principal, record = await run_in_threadpool(_wait_check, request, action_id,
                                                        principal, False)
            if record is not None:
                return json_response(record)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Re-check at least every 5 s: a safety net should a notification ever be lost.
            await waiter.wait(min(remaining, 5.0))
    _, record = await run_in_threadpool(_wait_check, request, action_id, principal, True)
    assert record is not None
    return json_response(record)


@router.post("/v1/actions/{action_id}/reviews")
def review(action_id: str, body: ReviewCreate, request: Request, principal: Caller
           ) -> dict[str, Any]:
    ctx = app_of(request).ctx
    result = reviews.review_action(ctx, principal, action_id, verdict=body.verdict,
                                   rationale=body.rationale)
    record = queries.action_status(ctx, principal, action_id, always_record=True)[1]
    return {**(record or {}), "result": result}


@router.post("/v1/actions/{action_id}/cancel")
def cancel(action_id: str, request: Request, principal: Caller,
           body: CancelBody | None = None) -> dict[str, Any]:
    ctx = app_of(request).ctx
    actions.cancel_action(ctx, principal, action_id, reason=body.reason if body else "")
    return queries.action_status(ctx, principal, action_id, always_record=True)[1] or {}


@router.post("/v1/actions/{action_id}/outcome", response_model=None)
async def outcome(action_id: str, body: OutcomeCreate, request: Request) -> Response:
    return await _write(request, _outcome, request, action_id, body)


def _outcome(request: Request, action_id: str, body: OutcomeCreate) -> Response:
    ctx = app_of(request).ctx
    principal = principal_of(request)
    outcomes.report_outcome(ctx, principal, action_id, status=body.status, detail=body.detail)
    if "return=minimal" in request.headers.get("prefer", ""):
        # RFC 7240: the SDK's background sender needs no record back, and building it was
        # more than half of this request's cost.
        response = json_response({"id": action_id, "status": body.status})
        response.headers["Preference-Applied"] = "return=minimal"
        return response
    return json_response(queries.action_status(ctx, principal, action_id,
                                               always_record=True)[1] or {})


@router.post("/v1/outcomes", response_model=None)
async def outcome_batch(body: OutcomeBatch, request: Request) -> Response:
    """Many outcome reports in one transaction; 200 with one result per report, in order (a
    refused report carries ``error``, a problem, and changes nothing; the others commit)."""
    return await _write(request, _outcome_batch, request, body)


def _outcome_batch(request: Request, body: OutcomeBatch) -> Response:
    results = outcomes.report_outcomes(
        app_of(request).ctx, principal_of(request),
        [(o.action_id, o.status, o.detail) for o in body.outcomes])
    return json_response({"results": results})


@router.post("/v1/grants/redeem", response_model=None)
def redeem(body: RedeemBody, request: Request, principal: Caller) -> Response:
    return json_response(grants.redeem_grant(app_of(request).ctx, principal, token=body.grant,
                                             digest=body.digest))


@router.get("/v1/inbox")
def inbox(request: Request, principal: Caller, workflow: str | None = None,
          agent: str | None = None, tier: str | None = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    items = queries.inbox(app_of(request).ctx, principal, workflow=workflow, agent_id=agent,
                          tier=tier, limit=limit)
    return {"items": items, "count": len(items)}


@router.get("/v1/reviews/post-action")
def post_action_queue(request: Request, principal: Caller,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    items = queries.post_review_queue(app_of(request).ctx, principal, limit=limit)
    return {"items": items, "count": len(items)}


@router.post("/v1/actions/{action_id}/post-review")
def post_review(action_id: str, body: PostReviewCreate, request: Request, principal: Caller
                ) -> dict[str, Any]:
    return reviews.post_review(app_of(request).ctx, principal, action_id,
                               verdict=body.verdict, note=body.note)
