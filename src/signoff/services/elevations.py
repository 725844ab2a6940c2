"""Just-in-time elevation (issue 3, item 8): approved, time-bounded extra scope for an agent.

Flow: the agent proposes ``signoff.agent.elevate`` (params validated up front: 422 when bad);
the policy decides it like any action. When it becomes approved (or allowed outright by a
policy that says so), :func:`apply_elevation` — called by signoff itself in the same
transaction — stores the window, records ``agent.elevation_granted``, and redeems the action's
grant on the agent's behalf with the outcome ``succeeded``: the agent never has to redeem
anything, it simply sees its elevation action end ``succeeded`` and proposes the elevated work.
Scope checks ask the database whether a window is in force *now*, so a restart neither extends
nor loses an elevation; the sweeper records ``agent.elevation_ended`` once a window is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from signoff.domain.actions import Action, ActionRequest, ActionStatus
from signoff.domain.elevations import ELEVATE_KIND, Elevation, parse_elevation
from signoff.domain.grants import Grant
from signoff.domain.identities import Agent, Principal, Role
from signoff.errors import Conflict, InvalidRequest, NotFound
from signoff.services.authz import forbid, is_admin
from signoff.services.context import ServiceContext, new_id

__all__ = ["ELEVATE_KIND", "apply_elevation", "end_due_elevations", "list_elevations",
           "may_propose", "revoke_elevation", "validate_elevation"]

SYSTEM = "system:signoff"


def validate_elevation(request: ActionRequest) -> None:
    """Refuse malformed elevation params before anything is proposed (422)."""
    if request.kind == ELEVATE_KIND:
        parse_elevation(request.params)


def may_propose(uow: Any, agent: Agent, request: ActionRequest, now: datetime) -> bool:
    """The agent's own scopes, an elevation in force now, or an elevation request.

    Asking for more scope is allowed in any workflow the agent already works in (the request
    itself goes through the policy); the requested workflows must exist.
    """
    if request.kind == ELEVATE_KIND:
        own = agent.scopes.get("workflows", [])
        if "*" not in own and request.workflow not in own:
            return False
        wanted = parse_elevation(request.params)
        missing = [w for w in wanted.workflows if uow.workflows.get(w) is None]
        if missing:
            raise InvalidRequest(f"unknown workflows: {', '.join(missing)}",
                                 field="params.workflows")
        return True
    if agent.may_propose(request.workflow, request.kind):
        return True
    return any(el.covers(request.workflow, request.kind)
               for el in uow.elevations.active_for(agent.id, now))


def apply_elevation(ctx: ServiceContext, uow: Any, action: Action, grant: Grant,
                    by: Principal | str) -> Elevation:
    """Put an approved elevation in force and close its action as ``succeeded``.

    Runs inside the caller's unit of work, so approval, elevation and audit events commit
    together or not at all.
    """
    wanted = parse_elevation(action.request.params)
    now = ctx.now()
    by_actor = by if isinstance(by, str) else by.actor
    elevation = Elevation(
        id=new_id("elv"), agent_id=action.agent_id, action_id=action.id,
        workflows=list(wanted.workflows), kinds=list(wanted.kinds), reason=wanted.reason,
        starts_at=now, ends_at=now + timedelta(seconds=wanted.seconds), granted_by=by_actor)
    uow.elevations.add(elevation)
    common: dict[str, Any] = {"action_id": action.id, "agent_id": action.agent_id,
                              "workflow": action.workflow}
    uow.record(ctx.event("agent.elevation_granted", SYSTEM, **common, data={
        "elevation_id": elevation.id, "workflows": elevation.workflows,
        "kinds": elevation.kinds, "reason": elevation.reason, "approved_by": by_actor,
        "starts_at": elevation.starts_at.isoformat(), "ends_at": elevation.ends_at.isoformat(),
        "seconds": wanted.seconds}))
    # signoff carries the action out itself: redeem its grant once and record the outcome.
    if uow.grants.redeem_once(grant.jti, at=now, by=SYSTEM):
        uow.record(ctx.event("grant.redeemed", SYSTEM, **common,
                             data={"jti": grant.jti, "digest": action.digest,
                                   "applied_by_signoff": True}))
        detail = f"elevation {elevation.id} in force until {elevation.ends_at.isoformat()}"
        uow.outcomes.add(action_id=action.id, status="succeeded", detail=detail,
                         reported_by=SYSTEM, at=now)
        action.status = ActionStatus.SUCCEEDED
        uow.actions.save(action)
        uow.record(ctx.event("action.outcome", SYSTEM, **common,
                             data={"status": "succeeded", "detail": detail}))
    uow.wake(action.id)
    return elevation


def _end(ctx: ServiceContext, uow: Any, elevation: Elevation, now: datetime) -> None:
    elevation.ended_at = now
    uow.elevations.save(elevation)
    why = "revoked" if elevation.revoked_at is not None else "window ended"
    uow.record(ctx.event("agent.elevation_ended", SYSTEM, action_id=elevation.action_id,
                         agent_id=elevation.agent_id, data={
                             "elevation_id": elevation.id, "reason": why,
                             "workflows": elevation.workflows, "kinds": elevation.kinds,
                             "ends_at": elevation.ends_at.isoformat(),
                             "revoked_by": elevation.revoked_by}))


def end_due_elevations(ctx: ServiceContext, ids: list[str]) -> int:
    """Record the end of every window that passed (the sweeper; safe across processes)."""
    now, ended = ctx.now(), 0
    for elevation_id in ids:
        with ctx.uow() as uow:
            elevation = uow.elevations.get(elevation_id, for_update=True)
            if elevation is None or elevation.ended_at is not None or \
                    (elevation.ends_at > now and elevation.revoked_at is None):
                continue
            _end(ctx, uow, elevation, now)
            uow.commit()
            ended += 1
    return ended


def _may_see(uow: Any, principal: Principal, agent: Agent) -> bool:
    if principal.is_agent:
        return principal.id == agent.id
    return principal.is_human and (
        principal.id == agent.owner_id or bool(principal.roles & {r.value for r in Role}))


def list_elevations(ctx: ServiceContext, principal: Principal, agent_id: str
                    ) -> list[dict[str, Any]]:
    with ctx.uow(readonly=True) as uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not _may_see(uow, principal, agent) and not is_admin(principal):
            raise forbid(ctx, principal, "you may not see this agent's elevations", uow=uow)
        now = ctx.now()
        return [e.public(now) for e in uow.elevations.for_agent(agent_id)]


def revoke_elevation(ctx: ServiceContext, principal: Principal, agent_id: str,
                     elevation_id: str, *, reason: str = "") -> dict[str, Any]:
    """An admin or the agent's owner ends an elevation early."""
    now = ctx.now()
    with ctx.uow() as uow:
        elevation = uow.elevations.get(elevation_id, for_update=True)
        if elevation is None or elevation.agent_id != agent_id:
            raise NotFound(f"no elevation {elevation_id} for agent {agent_id}")
        agent = uow.agents.get(agent_id)
        owner = agent is not None and principal.is_human and principal.id == agent.owner_id
        if not (is_admin(principal) or owner):
            raise forbid(ctx, principal, "only an admin or the agent's owner may revoke an "
                         "elevation", uow=uow, action_id=elevation.action_id)
        if elevation.revoked_at is not None or elevation.ended_at is not None \
                or not elevation.active(now):
            raise Conflict("this elevation is no longer in force")
        elevation.revoked_at, elevation.revoked_by = now, principal.actor
        uow.record(ctx.event("agent.elevation_revoked", principal,
                             action_id=elevation.action_id, agent_id=agent_id,
                             data={"elevation_id": elevation.id, "reason": reason}))
        _end(ctx, uow, elevation, now)
        uow.commit()
        return elevation.public(now)
