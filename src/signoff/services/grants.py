"""Grants: issued when an action may run, redeemed exactly once, re-checked at execution."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from signoff.domain.actions import Action, ActionStatus
from signoff.domain.grants import Grant, build_claims
from signoff.domain.identities import AgentStatus, Principal, Role
from signoff.domain.policy import Mode
from signoff.errors import AlreadyRedeemed, GrantRefused, InvalidRequest
from signoff.services.authz import forbid
from signoff.services.context import ServiceContext
from signoff.services.elevations import in_scope

__all__ = ["issue_grant", "lapse", "redeem_grant"]


def issue_grant(ctx: ServiceContext, uow: Any, action: Action, principal: Principal | str,
                *, redeemed_by: str | None = None) -> Grant:
    """Sign and store a grant; ``redeemed_by`` stores it already spent (redeem-on-propose)."""
    now = ctx.now()
    ttl = int(action.requirements.get("grant_ttl") or 300)
    jti = "gr_" + secrets.token_hex(12)
    claims = build_claims(issuer=ctx.issuer, action_id=action.id, workflow=action.workflow,
                          kind=action.request.kind, target=action.request.target,
                          digest=action.digest, jti=jti, now=now, ttl_seconds=ttl)
    token = ctx.signer.sign(claims.as_dict())
    grant = Grant(jti=jti, action_id=action.id, token=token, digest=action.digest,
                  kid=ctx.signer.kid, issued_at=now, expires_at=now + timedelta(seconds=ttl),
                  redeemed_at=now if redeemed_by else None, redeemed_by=redeemed_by)
    uow.grants.add(grant, agent_id=action.agent_id, workflow=action.workflow)
    return grant


def lapse(ctx: ServiceContext, uow: Any, action: Action, grant: Grant) -> None:
    """An issued grant was not redeemed in time: the action ends ``lapsed`` (never "denied")."""
    action.status = ActionStatus.LAPSED
    action.decided_at = action.decided_at or ctx.now()
    uow.actions.save(action)
    uow.record(ctx.event("action.lapsed", "system", action_id=action.id,
                         agent_id=action.agent_id, workflow=action.workflow,
                         data={"jti": grant.jti, "grant_expired_at": grant.expires_at.isoformat()}))
    uow.wake(action.id)


def _may_redeem(uow: Any, principal: Principal, action: Action) -> bool:
    if principal.is_agent:
        if principal.id == action.agent_id:
            return True
        executor = uow.agents.get(principal.id)
        return executor is not None and executor.status is AgentStatus.ACTIVE and (
            "*" in executor.scopes.get("workflows", [])
            or action.workflow in executor.scopes.get("workflows", []))
    return principal.has(Role.ADMIN)


def redeem_grant(ctx: ServiceContext, principal: Principal, *, token: str, digest: str
                 ) -> dict[str, Any]:
    """Single use, atomically; and only if the world still allows it right now."""
    if not token or not isinstance(token, str):
        raise InvalidRequest("grant is required", field="grant")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise InvalidRequest("digest must look like sha256:<hex>", field="digest")
    try:
        claims = ctx.signer.verify(token, verify_exp=False)
    except GrantRefused as exc:
        raise forbid(ctx, principal, exc.detail, error=GrantRefused, event_type="grant.refused",
                     reason="invalid") from None
    now = ctx.now()
    with ctx.uow() as uow:
        grant = uow.grants.get(str(claims.get("jti")), for_update=True)
        if grant is None:
            raise forbid(ctx, principal, "unknown grant", uow=uow, error=GrantRefused,
                         event_type="grant.refused", reason="unknown")
        action = uow.actions.get(grant.action_id, for_update=True)
        assert action is not None

        def refuse(what: str, reason: str) -> Exception:
            return forbid(ctx, principal, what, uow=uow, action_id=action.id,
                          workflow=action.workflow, error=GrantRefused,
                          event_type="grant.refused", reason=reason)

        if not _may_redeem(uow, principal, action):
            raise refuse("you may not redeem this grant", "not_yours")
        if grant.redeemed_at is not None:
            raise AlreadyRedeemed("this grant was already redeemed", action_id=action.id)
        if grant.revoked_at is not None:
            raise refuse(f"the grant was revoked: {grant.revoke_reason}", "revoked")
        if grant.digest != digest or claims.get("dig") != digest:
            raise refuse("the digest does not match the approved payload", "digest_mismatch")
        if now >= grant.expires_at:
            if action.status in (ActionStatus.ALLOWED, ActionStatus.APPROVED):
                lapse(ctx, uow, action, grant)
                uow.commit()
            raise GrantRefused("the grant lapsed before it was redeemed", reason="lapsed",
                               status_now="lapsed", action_id=action.id)
        if action.status not in (ActionStatus.ALLOWED, ActionStatus.APPROVED):
            raise refuse(f"the action is {action.status}", "state")
        agent = uow.agents.get(action.agent_id)
        if agent is None or agent.status is not AgentStatus.ACTIVE:
            raise refuse("the agent is no longer active", "agent_inactive")
        if not in_scope(uow, agent, action.workflow, action.request.kind, now):
            # Proposed under a just-in-time elevation whose window has ended (or scopes were
            # narrowed since): the execution right goes with the scope.
            raise refuse("the action is outside the agent's scopes now", "out_of_scope")
        workflow = uow.workflows.get(action.workflow)
        if workflow is None:
            raise refuse("the workflow no longer exists", "workflow_missing")
        if workflow.frozen:
            raise refuse(f"the workflow is frozen: {workflow.frozen_reason}", "workflow_frozen")
        if action.mode == Mode.REQUIRE_APPROVAL.value:
            owner = uow.humans.get(workflow.owner_id)
            if owner is None or not owner.active:
                raise refuse("no active accountable owner", "workflow_held")
        if not uow.grants.redeem_once(grant.jti, at=now, by=principal.actor):
            raise AlreadyRedeemed("this grant was already redeemed", action_id=action.id)
        action.status = ActionStatus.EXECUTING
        uow.actions.save(action)
        uow.record(ctx.event("grant.redeemed", principal, action_id=action.id,
                             agent_id=action.agent_id, workflow=action.workflow,
                             data={"jti": grant.jti, "digest": digest}))
        uow.wake(action.id)
        uow.commit()
    return {"action_id": action.id, "jti": grant.jti, "status": ActionStatus.EXECUTING.value,
            "redeemed_at": now}
