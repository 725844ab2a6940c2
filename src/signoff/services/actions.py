"""Proposing, reading, listing and cancelling actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from signoff.domain.actions import (
    Action,
    ActionRequest,
    ActionStatus,
    check_params_shape,
    compute_digest,
)
from signoff.domain.approvals import EligibleFactor, in_post_review_sample, quorum_state
from signoff.domain.identities import AgentStatus, Principal, Role
from signoff.domain.notifications import NotificationEvent
from signoff.domain.policy import SYSTEM_POLICY_ACTOR, Mode, PolicyInput, Reason, Tier
from signoff.errors import (
    AgentSuspended,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    SignoffError,
    WorkflowFrozen,
)
from signoff.services.approvers import resolve_factors
from signoff.services.authz import forbid, is_admin
from signoff.services.context import ServiceContext, new_id
from signoff.services.elevations import (
    ELEVATE_KIND,
    apply_elevation,
    may_propose,
    validate_elevation,
)
from signoff.services.grants import issue_grant
from signoff.services.outbox import approvers_to_tell, enqueue
from signoff.services.ports import DuplicateIdempotencyKey, ProposalSubjects
from signoff.services.stopping import cancel_pending
from signoff.services.tokens import confirm_token

__all__ = ["cancel_action", "check_action", "may_read", "submit_action", "validate_request"]


def validate_request(ctx: ServiceContext, request: ActionRequest) -> str:
    """Refuse bad input before any database work; return the digest."""
    limits = ctx.limits
    check_params_shape(request.params, max_bytes=limits.max_params_bytes,
                       max_depth=limits.max_params_depth)
    if len(request.summary) > limits.max_text_chars:
        raise PayloadTooLarge(f"summary is over {limits.max_text_chars} characters",
                              field="summary")
    if sum(len(i.excerpt) for i in request.inputs) > limits.max_text_chars:
        raise PayloadTooLarge(f"input excerpts are over {limits.max_text_chars} characters",
                              field="inputs")
    for name in ("workflow", "kind"):
        if not getattr(request, name).strip():
            raise InvalidRequest(f"{name} must not be empty", field=name)
    try:
        return compute_digest(request.workflow, request.kind, request.target, request.params)
    except Exception as exc:  # rfc8785 refuses NaN, infinities, ints beyond 2**53
        raise InvalidRequest(f"params cannot be canonicalised: {exc}", field="params") from None


def _requester_id(uow: Any, on_behalf_of: str | None) -> str | None:
    if not on_behalf_of:
        return None
    human = uow.humans.by_email(on_behalf_of) if "@" in on_behalf_of \
        else uow.humans.get(on_behalf_of)
    return human.id if human is not None else None


def submit_action(ctx: ServiceContext, principal: Principal, request: ActionRequest, *,
                  redeem: bool = False) -> tuple[Action, bool]:
    """Classify and record a proposal; see :func:`_submit`.

    ``redeem=True`` asks that an action the policy allows outright be redeemed in the same
    transaction (status ``executing``), saving the agent a second round trip: the world was
    checked a moment ago in this very transaction, and the grant is spent, so it cannot run
    twice. Work that waits for approval is unaffected.
    """
    try:
        return _submit(ctx, principal, request, redeem=redeem)
    except DuplicateIdempotencyKey:
        # Another request with this key committed first: answer with its result.
        digest = validate_request(ctx, request)
        with ctx.uow(readonly=True) as uow:
            first = uow.actions.by_idempotency_key(principal.id, request.idempotency_key or "")
        if first is None or first.digest != digest:
            raise Conflict("this idempotency key was used for a different payload",
                           field="idempotency_key",
                           **({"action_id": first.id} if first is not None else {})) from None
        return first, False


def _submit(ctx: ServiceContext, principal: Principal, request: ActionRequest, *,
            redeem: bool) -> tuple[Action, bool]:
    """Classify and record a proposal. Returns the action and whether it was created now.

    A fresh action's grant (if any) is left on ``action.new_grant`` so the caller can answer
    without reading it back.
    """
    if not principal.is_agent:
        raise forbid(ctx, principal, "only agents propose actions")
    digest = validate_request(ctx, request)
    validate_elevation(request)
    now = ctx.now()
    with ctx.uow() as uow:
        admitted = _admit(uow, principal, request, now)
        if isinstance(admitted, _Refusal):
            raise forbid(ctx, principal, admitted.why, uow=uow, workflow=admitted.workflow,
                         error=admitted.error, event_type="action.refused")
        agent, workflow, owner = admitted.agent, admitted.workflow, admitted.owner
        assert workflow is not None  # _admit refused an unknown workflow
        # A repeated idempotency key is found by the insert itself (a unique constraint),
        # which answers with the first action: no look-up on every proposal.
        subject = _policy_input(request, admitted, now)
        decision = ctx.policy.current.decide(subject)
        shadow = ctx.policy.shadow_decide(subject, decision)
        action_id = new_id("act")
        req = decision.requirements
        # Who may approve matters only for work that waits for approval: skip it otherwise.
        factors = resolve_factors(uow, req.factors, workflow=workflow,
                                  agent_owner_id=agent.owner_id) \
            if decision.mode is Mode.REQUIRE_APPROVAL else []
        requester_id = _requester_id(uow, request.on_behalf_of)
        reasons = list(decision.reasons)
        status = {Mode.DENY: ActionStatus.DENIED, Mode.REQUIRE_APPROVAL: ActionStatus.PENDING
                  }.get(decision.mode, ActionStatus.ALLOWED)
        if status is ActionStatus.PENDING:
            if owner is None or not owner.active:
                status = ActionStatus.DENIED
                reasons.append(Reason("workflow.held", "no active accountable owner"))
            else:
                possible = [f.pool - {requester_id} for f in factors]
                check = quorum_state(
                    [EligibleFactor(f.label, p, f.count) for f, p in zip(factors, possible,
                                                                         strict=True)],
                    sorted(set().union(*possible)) if possible else [],
                    tier=Tier(decision.tier), agent_owner_id=agent.owner_id)
                if not check.met:
                    status = ActionStatus.DENIED
                    reasons.append(Reason("quorum.impossible",
                                          "not enough eligible approvers to ever meet the "
                                          "quorum"))
        requirements = req.as_dict()
        requirements["requester_id"] = requester_id
        action = Action(
            id=action_id, agent_id=agent.id, request=request, digest=digest, status=status,
            tier=decision.tier.value, mode=decision.mode.value,
            reasons=[r.as_dict() for r in reasons], requirements=requirements,
            eligible=[f.as_dict() for f in factors], policy_version=decision.policy_version,
            created_at=now, agent_owner_id=agent.owner_id)
        if status is ActionStatus.PENDING:
            action.expires_at = now + timedelta(seconds=req.expires_in)
            if req.escalate_after:
                action.escalate_at = now + timedelta(seconds=req.escalate_after)
        elif status is ActionStatus.DENIED:
            action.decided_at = now
        else:
            action.decided_at = now
            action.post_review = decision.mode is Mode.ALLOW_AND_REVIEW or \
                in_post_review_sample(action_id, req.post_review_sample)
        redeem_now = redeem and status is ActionStatus.ALLOWED and request.kind != ELEVATE_KIND
        if redeem_now:
            action.status = ActionStatus.EXECUTING  # stored once, already running
        uow.actions.add(action)
        if status is ActionStatus.PENDING and ctx.notify_pending:
            # Written with the proposal (on PostgreSQL the rows leave with its commit: no
            # round trip of their own); allowed and denied work never gets here.
            enqueue(ctx, uow, NotificationEvent.PENDING, action,
                    approvers_to_tell(factors, requester_id), at=now)
        data: dict[str, Any] = {
            "status": status.value, "tier": action.tier, "mode": action.mode,
            "reasons": action.reasons, "matched_rules": list(decision.matched_rules),
            "policy_version": decision.policy_version, "digest": digest,
            "kind": request.kind, "target": request.target, "on_behalf_of": request.on_behalf_of,
            "parent_id": request.parent_id, "chain": list(request.chain),
            "post_review": action.post_review,
            # Allowed and denied work is decided by the policy, not by a person: say who.
            "decided_by": None if status is ActionStatus.PENDING else SYSTEM_POLICY_ACTOR}
        if shadow is not None:
            data["shadow"] = shadow
        if status is ActionStatus.ALLOWED:
            action.new_grant = issue_grant(ctx, uow, action, principal,
                                           redeemed_by=principal.actor if redeem_now else None)
            data["jti"] = action.new_grant.jti
        uow.record(ctx.event("action.submitted", principal, action_id=action_id,
                             agent_id=agent.id, workflow=workflow.name, data=data, at=now))
        if redeem_now:
            uow.record(ctx.event("grant.redeemed", principal, action_id=action_id,
                                 agent_id=agent.id, workflow=workflow.name, at=now,
                                 data={"jti": action.new_grant.jti, "digest": digest,
                                       "with": "proposal"}))
        if action.new_grant is not None and request.kind == ELEVATE_KIND:
            apply_elevation(ctx, uow, action, action.new_grant, "system:policy")
        uow.commit()
    return action, True


class _Refusal(NamedTuple):
    code: str
    why: str
    error: type[SignoffError] = Forbidden
    workflow: str | None = None


def _admit(uow: Any, principal: Principal, request: ActionRequest, now: Any
           ) -> ProposalSubjects | _Refusal:
    """Who a proposal the policy may see concerns, or why it may not be seen.

    Shared by proposals (which record the refusal) and checks (which report it), so a check
    never answers differently from the proposal it stands for. The agent, the workflow and
    both owners are read in one statement (this runs on every proposal)."""
    subjects = uow.agents.proposal_subjects(principal.id, request.workflow,
                                            token_id=principal.unconfirmed_token_id)
    if principal.unconfirmed_token_id is not None:
        confirm_token(principal, subjects.agent if subjects else None,
                      subjects.token if subjects else None)
    if subjects is None or subjects.agent.status is AgentStatus.SUSPENDED:
        return _Refusal("agent.suspended", "this agent is suspended", AgentSuspended)
    if not may_propose(uow, subjects.agent, request, now):
        return _Refusal("agent.scope", f"{request.kind} in {request.workflow} is outside this "
                        "agent's scopes", workflow=request.workflow)
    workflow = subjects.workflow
    if workflow is None:
        return _Refusal("workflow.unknown", f"unknown workflow {request.workflow}")
    if workflow.frozen:
        return _Refusal("workflow.frozen", f"workflow {workflow.name} is frozen: "
                        f"{workflow.frozen_reason}", WorkflowFrozen, workflow.name)
    return subjects


def _policy_input(request: ActionRequest, subjects: ProposalSubjects, now: Any) -> PolicyInput:
    """What the policy sees of a proposal."""
    agent, workflow = subjects.agent, subjects.workflow
    assert workflow is not None
    owner, agent_owner = subjects.owner, subjects.agent_owner
    return PolicyInput(
        action={"workflow": request.workflow, "kind": request.kind,
                "target": request.target, "params": request.params,
                "impact": request.impact.as_dict(), "chain_depth": request.chain_depth,
                "summary": request.summary},
        agent={"id": agent.id, "name": agent.name,
               "owner": agent_owner.email if agent_owner else "", "labels": agent.labels},
        workflow={"name": workflow.name, "owner": owner.email if owner else "",
                  "labels": workflow.labels},
        requester=request.on_behalf_of, now=now)


def check_action(ctx: ServiceContext, principal: Principal, request: ActionRequest
                 ) -> dict[str, Any]:
    """What would happen to this proposal now, without proposing it (nothing is stored).

    For an agent planning its work (the MCP gateway hides tools the answer denies). The answer
    holds for these exact fields only: rules may look at the target and params, and state can
    change before a real proposal, which is decided afresh.
    """
    if not principal.is_agent:
        raise forbid(ctx, principal, "only agents check their own proposals")
    validate_request(ctx, request)
    validate_elevation(request)
    now = ctx.now()

    with ctx.uow(readonly=True) as uow:
        admitted = _admit(uow, principal, request, now)
        if isinstance(admitted, _Refusal):
            return {"mode": Mode.DENY.value, "tier": None,
                    "reasons": [Reason(admitted.code, admitted.why).as_dict()],
                    "matched_rules": [], "policy_version": ctx.policy.current.version}
        subject = _policy_input(request, admitted, now)
    decision = ctx.policy.current.decide(subject)
    return {"mode": decision.mode.value, "tier": decision.tier.value,
            "reasons": [r.as_dict() for r in decision.reasons],
            "matched_rules": list(decision.matched_rules),
            "policy_version": decision.policy_version}


def cancel_action(ctx: ServiceContext, principal: Principal, action_id: str, *,
                  reason: str = "") -> Action:
    """Pending, allowed or approved work can be cancelled; an issued grant is revoked with it."""
    with ctx.uow() as uow:
        action = uow.actions.get(action_id, for_update=True)
        if action is None:
            raise NotFound(f"no action {action_id}")
        allowed = (principal.is_agent and principal.id == action.agent_id) or is_admin(principal)
        if not allowed and principal.is_human:
            wf = uow.workflows.get(action.workflow)
            allowed = wf is not None and wf.owner_id == principal.id
        if not allowed:
            raise forbid(ctx, principal, "only its agent, the workflow owner or an admin may "
                         "cancel this action", uow=uow, action_id=action_id)
        cancellable = (ActionStatus.PENDING, ActionStatus.ALLOWED, ActionStatus.APPROVED)
        if action.status not in cancellable:
            raise Conflict(f"the action is {action.status} and cannot be cancelled",
                           status_now=action.status.value)
        grant = uow.grants.for_action(action_id)
        if grant is not None and grant.redeemed_at is None and grant.revoked_at is None:
            grant.revoked_at, grant.revoke_reason = ctx.now(), "action cancelled"
            uow.grants.save(grant)
            uow.record(ctx.event("grant.revoked", principal, action_id=action_id,
                                 agent_id=action.agent_id, workflow=action.workflow,
                                 data={"jti": grant.jti, "reason": "action cancelled"}))
        cancel_pending(ctx, uow, principal, action, reason=reason.strip() or "cancelled")
        uow.commit()
    return action


def may_read(principal: Principal, action: Action) -> bool:
    if principal.is_agent:
        return principal.id == action.agent_id
    return principal.is_human and bool(principal.roles & {r.value for r in Role})
