"""Auditing calls an agent ran while signoff was unreachable (the SDK's fail-open journal).

A gate may opt in to fail open for work the policy last classified ``low``. The SDK journals
each such run and reports it here once signoff answers again, so the record stays complete
(R7, R12). The report becomes an action row in its final state (``succeeded``/``failed``, or
``executing`` while the outcome is not known yet) with the outcome, and one
``action.fail_open`` audit event. The policy is re-run now: if the tier is no longer ``low``
with mode ``allow`` (or the agent was suspended, or the workflow frozen, meanwhile), the action
is flagged for post-action review, because it ran without the approval it would need today.

Reports are idempotent on the agent and the idempotency key. A repeated report answers the
first action; a repeated report carrying the outcome the first one lacked completes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signoff.domain.actions import Action, ActionRequest, ActionStatus
from signoff.domain.identities import AgentStatus, Principal
from signoff.domain.policy import Decision, Mode, PolicyInput, Tier
from signoff.errors import Conflict, InvalidRequest
from signoff.services.actions import validate_request
from signoff.services.authz import forbid
from signoff.services.context import ServiceContext, new_id
from signoff.services.outcomes import record_outcome

__all__ = ["FailOpenReport", "record_fail_open"]

OUTCOMES = ("succeeded", "failed")


@dataclass(frozen=True, slots=True)
class FailOpenReport:
    """One journal entry as the SDK sends it (``FailOpenRecord.as_body()``)."""

    request: ActionRequest
    digest: str
    remembered_tier: str
    unavailable_reason: str
    started_at: str
    finished_at: str | None = None
    outcome: dict[str, str] | None = field(default=None)


def _check(ctx: ServiceContext, report: FailOpenReport) -> None:
    if not report.request.idempotency_key:
        raise InvalidRequest("a fail-open report needs its idempotency key",
                             field="idempotency_key")
    digest = validate_request(ctx, report.request)
    if digest != report.digest:
        raise InvalidRequest("the digest does not match workflow, kind, target and params",
                             field="digest")
    if report.outcome is not None and report.outcome.get("status") not in OUTCOMES:
        raise InvalidRequest("outcome.status must be 'succeeded' or 'failed'",
                             field="outcome.status")


def _decide(ctx: ServiceContext, uow: Any, agent: Any, workflow: Any,
            request: ActionRequest) -> Decision:
    owner = uow.humans.get(workflow.owner_id)
    agent_owner = uow.humans.get(agent.owner_id)
    return ctx.policy.current.decide(PolicyInput(
        action={"workflow": request.workflow, "kind": request.kind, "target": request.target,
                "params": request.params, "impact": request.impact.as_dict(),
                "chain_depth": request.chain_depth, "summary": request.summary},
        agent={"id": agent.id, "name": agent.name,
               "owner": agent_owner.email if agent_owner else "", "labels": agent.labels},
        workflow={"name": workflow.name, "owner": owner.email if owner else "",
                  "labels": workflow.labels},
        requester=request.on_behalf_of, now=ctx.now()))


def _review_reasons(decision: Decision, agent: Any, workflow: Any,
                    remembered: str) -> list[str]:
    why: list[str] = []
    if decision.tier is not Tier.LOW or decision.mode is not Mode.ALLOW:
        why.append(f"the policy now says {decision.tier.value}/{decision.mode.value}")
    if remembered != Tier.LOW.value:
        why.append(f"the agent remembered tier {remembered!r}")
    if agent.status is AgentStatus.SUSPENDED:
        why.append("the agent is suspended")
    if workflow.frozen:
        why.append("the workflow is frozen")
    return why


def record_fail_open(ctx: ServiceContext, principal: Principal, report: FailOpenReport
                     ) -> tuple[Action, bool]:
    """Record a fail-open run; returns the action and whether this report created it."""
    if not principal.is_agent:
        raise forbid(ctx, principal, "only agents report fail-open runs")
    _check(ctx, report)
    request = report.request
    now = ctx.now()
    with ctx.uow() as uow:
        agent = uow.agents.get(principal.id)
        if agent is None:
            raise forbid(ctx, principal, "unknown agent", uow=uow)
        workflow = uow.workflows.get(request.workflow)
        if workflow is None:
            raise forbid(ctx, principal, f"unknown workflow {request.workflow}", uow=uow,
                         event_type="action.refused")
        if not agent.may_propose(request.workflow, request.kind):
            raise forbid(ctx, principal, f"{request.kind} in {request.workflow} is outside this "
                         "agent's scopes", uow=uow, workflow=request.workflow,
                         event_type="action.refused")
        assert request.idempotency_key is not None
        first = uow.actions.by_idempotency_key(agent.id, request.idempotency_key)
        if first is not None:
            if first.digest != report.digest:
                raise Conflict("this idempotency key was used for a different payload",
                               field="idempotency_key", action_id=first.id)
            _repeat(ctx, uow, principal, first, report)
            uow.commit()
            return first, False
        decision = _decide(ctx, uow, agent, workflow, request)
        review_why = _review_reasons(decision, agent, workflow, report.remembered_tier)
        status = ActionStatus(report.outcome["status"]) if report.outcome \
            else ActionStatus.EXECUTING
        reasons = [r.as_dict() for r in decision.reasons]
        reasons.append({"rule_id": "fail_open",
                        "message": f"ran while signoff was unreachable: "
                                   f"{report.unavailable_reason}"[:500]})
        requirements = decision.requirements.as_dict()
        requirements.update(fail_open=True, requester_id=None)
        action = Action(
            id=new_id("act"), agent_id=agent.id, request=request, digest=report.digest,
            status=status, tier=decision.tier.value, mode=decision.mode.value, reasons=reasons,
            requirements=requirements, eligible=[], policy_version=decision.policy_version,
            created_at=now, decided_at=now, post_review=bool(review_why),
            agent_owner_id=agent.owner_id)
        uow.actions.add(action)
        if report.outcome is not None:
            uow.outcomes.add(action_id=action.id, status=report.outcome["status"],
                             detail=str(report.outcome.get("detail", ""))[:2000],
                             reported_by=principal.actor, at=now)
        uow.record(ctx.event("action.fail_open", principal, action_id=action.id,
                             agent_id=agent.id, workflow=workflow.name, at=now, data={
                                 **_event_data(report), "tier": action.tier,
                                 "mode": action.mode, "matched_rules":
                                     list(decision.matched_rules),
                                 "policy_version": decision.policy_version,
                                 "post_review": action.post_review,
                                 "post_review_because": review_why}))
        uow.wake(action.id)
        uow.commit()
    return action, True


def _event_data(report: FailOpenReport) -> dict[str, Any]:
    r = report.request
    return {"kind": r.kind, "target": r.target, "digest": report.digest,
            "idempotency_key": r.idempotency_key, "remembered_tier": report.remembered_tier,
            "unavailable_reason": report.unavailable_reason[:500],
            "started_at": report.started_at, "finished_at": report.finished_at,
            "outcome": report.outcome, "on_behalf_of": r.on_behalf_of,
            "parent_id": r.parent_id, "chain": list(r.chain)}


def _repeat(ctx: ServiceContext, uow: Any, principal: Principal, first: Action,
            report: FailOpenReport) -> None:
    """A report seen before: complete a missing outcome, or audit a proposal that ran anyway.

    If the key belongs to a proposal that did reach signoff (only its answer was lost), the
    function still ran without redeeming a grant: that is recorded on the action and flags it
    for post-action review.
    """
    if first.requirements.get("fail_open"):
        if first.status is ActionStatus.EXECUTING and report.outcome is not None:
            status = report.outcome["status"]
            detail = str(report.outcome.get("detail", ""))[:2000]
            record_outcome(ctx, uow, principal, first, status, detail, fail_open=True)
        return
    if any(e["type"] == "action.fail_open" for e in uow.audit.events(action_id=first.id)):
        return
    first.post_review = True
    uow.actions.save(first)
    uow.record(ctx.event("action.fail_open", principal, action_id=first.id,
                         agent_id=first.agent_id, workflow=first.workflow,
                         data={**_event_data(report), "tier": first.tier, "mode": first.mode,
                               "post_review": True, "post_review_because":
                                   ["the proposal reached signoff, but the call ran without "
                                    "its grant"]}))
