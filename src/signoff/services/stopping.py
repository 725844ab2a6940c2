"""Humans stop things (R17): suspend an agent, revoke grants, cancel actions."""

from __future__ import annotations

from typing import Any

from signoff.domain.actions import ActionStatus
from signoff.domain.identities import AgentStatus, Principal, Role
from signoff.errors import Conflict, InvalidRequest, NotFound
from signoff.services.authz import forbid, is_admin
from signoff.services.context import ServiceContext

__all__ = ["cancel_pending", "may_suspend", "resume_agent", "revoke_unredeemed", "suspend_agent"]


def revoke_unredeemed(ctx: ServiceContext, uow: Any, principal: Principal | str, *,
                      reason: str, agent_id: str | None = None,
                      workflow: str | None = None) -> int:
    now = ctx.now()
    grants = uow.grants.unredeemed(agent_id=agent_id, workflow=workflow)
    for grant in grants:
        grant.revoked_at, grant.revoke_reason = now, reason
        uow.grants.save(grant)
        uow.record(ctx.event("grant.revoked", principal, action_id=grant.action_id,
                             agent_id=agent_id, workflow=workflow,
                             data={"jti": grant.jti, "reason": reason}))
        uow.wake(grant.action_id)
    return len(grants)


def cancel_pending(ctx: ServiceContext, uow: Any, principal: Principal | str, action: Any,
                   *, reason: str) -> None:
    action.status = ActionStatus.CANCELLED
    action.decided_at = ctx.now()
    uow.actions.save(action)
    uow.record(ctx.event("action.cancelled", principal, action_id=action.id,
                         agent_id=action.agent_id, workflow=action.workflow,
                         data={"reason": reason}))
    uow.wake(action.id)


def may_suspend(uow: Any, principal: Principal, agent: Any) -> bool:
    """Who may pull an agent's kill switch (the console offers it to the same people): an
    admin, the agent's owner, or the owner of one of the workflows it may act in."""
    if is_admin(principal) or (principal.is_human and agent.owner_id == principal.id):
        return True
    if not principal.has(Role.OWNER):
        return False
    scoped = agent.scopes.get("workflows", [])
    owned = {w.name for w in uow.workflows.owned_by(principal.id)}
    return bool(owned) and ("*" in scoped or bool(owned & set(scoped)))


def suspend_agent(ctx: ServiceContext, principal: Principal, agent_id: str, *,
                  reason: str) -> dict[str, Any]:
    """The kill switch: pending actions end, unredeemed grants are revoked, submissions 403.

    One transaction, read by every process on its next request, so it holds at once everywhere.
    """
    reason = reason.strip() or "suspended"
    with ctx.uow() as uow:
        agent = uow.agents.get(agent_id, for_update=True)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not may_suspend(uow, principal, agent):
            raise forbid(ctx, principal, "only an admin, the agent's owner or the owner of one "
                         "of its workflows may suspend it", uow=uow, agent=agent_id)
        if agent.status is AgentStatus.REVOKED:
            raise Conflict("the agent is revoked")
        agent.status = AgentStatus.SUSPENDED
        uow.agents.save(agent)
        pending = uow.actions.pending_for_agent(agent_id)
        for action in pending:
            cancel_pending(ctx, uow, principal, action, reason=f"agent suspended: {reason}")
        revoked = revoke_unredeemed(ctx, uow, principal, agent_id=agent_id,
                                    reason=f"agent suspended: {reason}")
        # Extra scope from a just-in-time elevation does not survive the kill switch: resuming
        # the agent must not bring it back without a fresh approval. (Imported here because
        # the elevations module uses cancel_pending from this one.)
        from signoff.services.elevations import revoke_in_force
        elevations = revoke_in_force(ctx, uow, agent_id, principal,
                                     reason=f"agent suspended: {reason}")
        uow.record(ctx.event("agent.suspended", principal, agent_id=agent_id,
                             data={"agent_id": agent_id, "reason": reason,
                                   "actions_cancelled": len(pending),
                                   "grants_revoked": revoked, "elevations_ended": elevations}))
        uow.commit()
    return {"agent_id": agent_id, "status": "suspended", "actions_cancelled": len(pending),
            "grants_revoked": revoked}


def resume_agent(ctx: ServiceContext, principal: Principal, agent_id: str) -> None:
    with ctx.uow() as uow:
        agent = uow.agents.get(agent_id, for_update=True)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not (is_admin(principal) or (principal.is_human and agent.owner_id == principal.id)):
            raise forbid(ctx, principal, "only an admin or the agent's owner may resume it",
                         uow=uow)
        if agent.status is not AgentStatus.SUSPENDED:
            raise InvalidRequest(f"the agent is {agent.status}, not suspended")
        agent.status = AgentStatus.ACTIVE
        uow.agents.save(agent)
        uow.record(ctx.event("agent.resumed", principal, agent_id=agent_id,
                             data={"agent_id": agent_id}))
        uow.commit()
