"""Just-in-time elevation (issue 3, item 8): approved, time-bounded extra scope for an agent.

Flow: the agent proposes ``signoff.agent.elevate`` (params validated up front: 422 when bad);
the policy decides it like any action. When it becomes approved (or allowed outright by a
policy that says so), :func:`apply_elevation` — called by signoff itself in the same
transaction — stores the window, records ``agent.elevation_granted``, and redeems the action's
grant on the agent's behalf with the outcome ``succeeded``: the agent never has to redeem
anything, it simply sees its elevation action end ``succeeded`` and proposes the elevated work.
Scope checks ask the database whether a window is in force *now*, so a restart neither extends
nor loses an elevation; the sweeper records ``agent.elevation_ended`` once a window is over.
The scope is gone with the window for work proposed under it too: a redeem re-checks the scope
(:func:`in_scope`), and the end of a window (or its revocation) cancels such work still pending
and revokes its unredeemed grants, so nothing approved for the window runs after it.
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
from signoff.services.stopping import cancel_pending

__all__ = ["ELEVATE_KIND", "apply_elevation", "end_due_elevations", "in_scope",
           "list_elevations", "may_propose", "revoke_elevation", "revoke_in_force",
           "validate_elevation"]

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
        # The elevation always goes to the agent asking; a target naming another agent would
        # tell the reviewers a different story from what approval does.
        if request.target not in (f"agent/{agent.id}", f"agent/{agent.name}"):
            raise InvalidRequest(f"an elevation is for the agent asking: set target to "
                                 f"agent/{agent.id}", field="target")
        wanted = parse_elevation(request.params)
        missing = [w for w in wanted.workflows if uow.workflows.get(w) is None]
        if missing:
            raise InvalidRequest(f"unknown workflows: {', '.join(missing)}",
                                 field="params.workflows")
        return True
    return in_scope(uow, agent, request.workflow, request.kind, now)


def in_scope(uow: Any, agent: Agent, workflow: str, kind: str, now: datetime, *,
             ignoring: str | None = None) -> bool:
    """The agent's own scopes, or an elevation in force at ``now`` (but ``ignoring``), cover it."""
    if agent.may_propose(workflow, kind):
        return True
    return any(el.covers(workflow, kind) for el in uow.elevations.active_for(agent.id, now)
               if el.id != ignoring)


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


def _end(ctx: ServiceContext, uow: Any, elevation: Elevation, now: datetime, *,
         withdraw: bool = True) -> None:
    elevation.ended_at = now
    uow.elevations.save(elevation)
    why = "revoked" if elevation.revoked_at is not None else "window ended"
    withdrawn = _withdraw(ctx, uow, elevation, now) if withdraw else ([], [])
    uow.record(ctx.event("agent.elevation_ended", SYSTEM, action_id=elevation.action_id,
                         agent_id=elevation.agent_id, data={
                             "elevation_id": elevation.id, "reason": why,
                             "workflows": elevation.workflows, "kinds": elevation.kinds,
                             "ends_at": elevation.ends_at.isoformat(),
                             "revoked_by": elevation.revoked_by,
                             "actions_cancelled": withdrawn[0],
                             "grants_revoked": withdrawn[1]}))


def _withdraw(ctx: ServiceContext, uow: Any, elevation: Elevation, now: datetime
              ) -> tuple[list[str], list[str]]:
    """Cancel pending work and revoke unredeemed grants that only this elevation allowed."""
    agent = uow.agents.get(elevation.agent_id)
    if agent is None:
        return [], []

    def relied(action: Action) -> bool:
        return elevation.covers(action.workflow, action.request.kind) and not in_scope(
            uow, agent, action.workflow, action.request.kind, now, ignoring=elevation.id)

    why = f"elevation {elevation.id} ended"
    cancelled: list[str] = []
    for action in uow.actions.pending_for_agent(agent.id):
        if relied(action):
            cancel_pending(ctx, uow, SYSTEM, action, reason=why)
            cancelled.append(action.id)
    revoked: list[str] = []
    for grant in uow.grants.unredeemed(agent_id=agent.id):
        action = uow.actions.get(grant.action_id, for_update=True)
        if action is None or action.id == elevation.action_id or not relied(action):
            continue
        grant.revoked_at, grant.revoke_reason = now, why
        uow.grants.save(grant)
        uow.record(ctx.event("grant.revoked", SYSTEM, action_id=action.id, agent_id=agent.id,
                             workflow=action.workflow, data={"jti": grant.jti, "reason": why}))
        if action.status in (ActionStatus.ALLOWED, ActionStatus.APPROVED):
            cancel_pending(ctx, uow, SYSTEM, action, reason=why)  # as cancelling would
        revoked.append(action.id)
    return cancelled, revoked


def revoke_in_force(ctx: ServiceContext, uow: Any, agent_id: str, by: Principal, *,
                    reason: str) -> int:
    """End every elevation of an agent now (the kill switch), inside the caller's unit of work.

    The caller cancels the agent's pending work and revokes its grants itself."""
    now, ended = ctx.now(), 0
    for elevation in uow.elevations.active_for(agent_id, now):
        elevation.revoked_at, elevation.revoked_by = now, by.actor
        uow.record(ctx.event("agent.elevation_revoked", by, action_id=elevation.action_id,
                             agent_id=agent_id, data={"elevation_id": elevation.id,
                                                      "reason": reason}))
        _end(ctx, uow, elevation, now, withdraw=False)
        ended += 1
    return ended


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
