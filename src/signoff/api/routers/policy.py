"""/v1/policy (active and shadow policy, reload, check) and /v1/agents/{id}/elevations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from signoff.api.deps import app_of, principal_of
from signoff.api.problems import problem_response
from signoff.api.schemas import ActionCreate, ReasonBody
from signoff.domain.identities import Principal, Role
from signoff.services import actions, elevations, policy_admin
from signoff.services.authz import require_role

router = APIRouter(tags=["policy"])
Caller = Annotated[Principal, Depends(principal_of)]


@router.get("/v1/policy")
def get_policy(request: Request, principal: Caller) -> dict[str, Any]:
    ctx = app_of(request).ctx
    require_role(ctx, principal, Role.ADMIN, Role.AUDITOR, Role.OWNER,
                 what="reading the policy")
    return policy_admin.describe_policy(ctx)


@router.post("/v1/policy/check")
def check(body: ActionCreate, request: Request, principal: Caller) -> dict[str, Any]:
    """Agents: what the policy would decide for this proposal now (mode, tier, reasons),
    without proposing it; nothing is stored. A real proposal is decided afresh."""
    return actions.check_action(app_of(request).ctx, principal, body.to_request())


@router.post("/v1/policy/reload", responses={422: {"description": "The files have errors; "
                                                "the last good policy stays in force."}})
async def reload_policy(request: Request, principal: Caller) -> Any:
    """Admin only. 200 with the new (or unchanged) version; 422 problem+json with every error
    when a file is bad, the last good policy (active and shadow) staying in force. A failure is
    an error status so that a deploy script's ``curl --fail`` cannot mistake it for success."""
    result = await run_in_threadpool(policy_admin.reload_policy, app_of(request).ctx, principal,
                                     trigger="api")
    if result["ok"] and not result.get("shadow_errors"):
        return result
    lines = (result.get("errors") or []) + (result.get("shadow_errors") or [])
    return problem_response(
        422, "Policy not reloaded",
        f"{len(lines)} error(s) in the policy files; version {result['version']} stays in "
        f"force: {lines[0] if lines else ''}", "policy_reload_failed", **result)


@router.get("/v1/agents/{agent_id}/elevations")
def list_elevations(agent_id: str, request: Request, principal: Caller) -> dict[str, Any]:
    return {"items": elevations.list_elevations(app_of(request).ctx, principal, agent_id)}


@router.post("/v1/agents/{agent_id}/elevations/{elevation_id}/revoke")
def revoke_elevation(agent_id: str, elevation_id: str, body: ReasonBody, request: Request,
                     principal: Caller) -> dict[str, Any]:
    return elevations.revoke_elevation(app_of(request).ctx, principal, agent_id, elevation_id,
                                       reason=body.reason)
