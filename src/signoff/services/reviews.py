"""Human reviews: approval with quorum and veto, and post-action review of sampled work."""

from __future__ import annotations

from typing import Any

from signoff.domain.actions import Action, ActionStatus
from signoff.domain.approvals import (
    EligibleFactor,
    PostVerdict,
    Review,
    ReviewSubject,
    Verdict,
    check_review,
    eligible_pool,
    quorum_state,
)
from signoff.domain.identities import Principal, Role
from signoff.domain.notifications import NotificationEvent
from signoff.domain.policy import Tier
from signoff.errors import Conflict, Forbidden, InvalidRequest, NotFound, SignoffError
from signoff.services.authz import forbid, is_admin
from signoff.services.context import ServiceContext, new_id
from signoff.services.elevations import ELEVATE_KIND, apply_elevation
from signoff.services.grants import issue_grant
from signoff.services.outbox import enqueue

__all__ = ["expire", "factors_of", "post_review", "quorum_of", "review_action"]


def factors_of(action: Action) -> list[EligibleFactor]:
    return [EligibleFactor.from_dict(f) for f in action.eligible]


def quorum_of(action: Action, reviews: list[Review]) -> dict[str, Any]:
    approvers = [r.reviewer_id for r in reviews if r.stage == "pre" and r.verdict == "approve"]
    state = quorum_state(factors_of(action), approvers, tier=Tier(action.tier),
                         agent_owner_id=action.agent_owner_id)
    required = sum(f.count for f in factors_of(action))
    return {"required": required, "approvals": len(set(approvers)), "short_by": state.short_by,
            "met": state.met}


def expire(ctx: ServiceContext, uow: Any, action: Action) -> None:
    action.status = ActionStatus.EXPIRED
    action.decided_at = ctx.now()
    uow.actions.save(action)
    uow.record(ctx.event("action.expired", "system", action_id=action.id,
                         agent_id=action.agent_id, workflow=action.workflow,
                         data={"expires_at": action.expires_at.isoformat()}))
    uow.wake(action.id)


def _verdict(value: str) -> Verdict:
    try:
        return Verdict(value)
    except ValueError:
        raise InvalidRequest("verdict must be 'approve' or 'reject'", field="verdict") from None


def review_action(ctx: ServiceContext, principal: Principal, action_id: str, *, verdict: str,
                  rationale: str) -> dict[str, Any]:
    """Record one human's verdict; a reject vetoes, a met quorum approves and issues the grant."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents never review actions", action_id=action_id)
    chosen = _verdict(verdict)
    rationale = rationale or ""
    now = ctx.now()
    with ctx.uow() as uow:
        action = uow.actions.get(action_id, for_update=True)
        if action is None:
            raise NotFound(f"no action {action_id}")
        if action.status is ActionStatus.PENDING and action.expires_at and \
                now >= action.expires_at:
            expire(ctx, uow, action)
            uow.commit()
            raise Conflict("the action expired before this review", status_now="expired")
        reviews = [r for r in uow.reviews.for_action(action_id) if r.stage == "pre"]
        first_view = uow.reviews.first_view(action_id, principal.id)
        requester = action.requirements.get("requester_id")
        subject = ReviewSubject(
            status=action.status, tier=Tier(action.tier), factors=tuple(factors_of(action)),
            on_behalf_of=requester, agent_owner_id=action.agent_owner_id,
            min_review_seconds=int(action.requirements.get("min_review_seconds") or 0),
            rationale_required=bool(action.requirements.get("rationale_required")),
            reviewed_by=frozenset(r.reviewer_id for r in reviews))
        try:
            check_review(subject, reviewer_id=principal.id, verdict=chosen, rationale=rationale,
                         first_viewed_at=first_view, now=now)
        except SignoffError as exc:
            # Every refused review is on record, whichever rule refused it.
            raise forbid(ctx, principal, exc.detail, uow=uow, action_id=action_id,
                         workflow=action.workflow, error=type(exc), event_type="review.refused",
                         **exc.extra) from None
        review = Review(id=new_id("rev"), action_id=action_id, reviewer_id=principal.id,
                        verdict=chosen.value, rationale=rationale, first_viewed_at=first_view,
                        decided_at=now, stage="pre", auth_method=principal.auth_method)
        uow.reviews.add(review)
        dwell = (now - first_view).total_seconds() if first_view else None
        uow.record(ctx.event("review.recorded", principal, action_id=action_id,
                             agent_id=action.agent_id, workflow=action.workflow,
                             data={"verdict": chosen.value, "rationale": rationale,
                                   "first_viewed_at": first_view.isoformat() if first_view
                                   else None, "dwell_seconds": dwell,
                                   "auth_method": principal.auth_method}))
        result: dict[str, Any] = {"verdict": chosen.value}
        if chosen is Verdict.REJECT:
            action.status, action.decided_at = ActionStatus.REJECTED, now
            uow.actions.save(action)
            uow.record(ctx.event("action.rejected", principal, action_id=action_id,
                                 agent_id=action.agent_id, workflow=action.workflow,
                                 data={"by": principal.id, "rationale": rationale}))
            uow.wake(action_id)
        else:
            quorum = quorum_of(action, [*reviews, review])
            result["quorum"] = quorum
            if quorum["met"]:
                action.status, action.decided_at = ActionStatus.APPROVED, now
                uow.actions.save(action)
                grant = issue_grant(ctx, uow, action, principal)
                approvers = [r.reviewer_id for r in [*reviews, review] if r.verdict == "approve"]
                uow.record(ctx.event("action.approved", principal, action_id=action_id,
                                     agent_id=action.agent_id, workflow=action.workflow,
                                     data={"approvers": approvers, "jti": grant.jti,
                                           "grant_expires_at": grant.expires_at.isoformat()}))
                if action.request.kind == ELEVATE_KIND:
                    apply_elevation(ctx, uow, action, grant, principal)
                uow.wake(action_id)
        uow.commit()
    result["status"] = action.status.value
    return result


def may_post_review(principal: Principal, eligible: list[dict[str, Any]], workflow: Any
                    ) -> bool:
    """Who may review a sampled action after the fact (the console's queue shows the same):
    its approver pool, the workflow's owner and backups, owners and admins (the person it was
    done for is refused separately, with its own message)."""
    pool = eligible_pool(EligibleFactor.from_dict(f) for f in eligible) | (
        {workflow.owner_id, *workflow.backups} if workflow else set())
    return principal.id in pool or is_admin(principal) or principal.has(Role.OWNER)


def post_review(ctx: ServiceContext, principal: Principal, action_id: str, *, verdict: str,
                note: str) -> dict[str, Any]:
    """Mark a sampled low-risk action ok or flag it; a flag goes to the workflow owner."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents never review actions", action_id=action_id)
    try:
        chosen = PostVerdict(verdict)
    except ValueError:
        raise InvalidRequest("verdict must be 'ok' or 'flag'", field="verdict") from None
    if chosen is PostVerdict.FLAG and not note.strip():
        raise InvalidRequest("say what is wrong when flagging", field="note")
    now = ctx.now()
    with ctx.uow() as uow:
        action = uow.actions.get(action_id, for_update=True)
        if action is None:
            raise NotFound(f"no action {action_id}")
        workflow = uow.workflows.get(action.workflow)
        if not may_post_review(principal, action.eligible, workflow):
            raise forbid(ctx, principal, "you may not review this action", uow=uow,
                         action_id=action_id)
        if not action.post_review:
            raise Conflict("this action is not queued for post-action review")
        if action.post_review_verdict is not None:
            raise Conflict(f"already reviewed: {action.post_review_verdict}")
        if principal.id == action.requirements.get("requester_id"):
            raise forbid(ctx, principal, "the requester cannot review their own action",
                         uow=uow, action_id=action_id, error=Forbidden)
        uow.reviews.add(Review(id=new_id("rev"), action_id=action_id, reviewer_id=principal.id,
                               verdict=chosen.value, rationale=note, first_viewed_at=None,
                               decided_at=now, stage="post", auth_method=principal.auth_method))
        action.post_review_verdict = chosen.value
        uow.actions.save(action)
        flagged = chosen is PostVerdict.FLAG
        notify = [workflow.owner_id] if workflow and flagged else []
        uow.record(ctx.event(f"post_review.{'flagged' if flagged else 'ok'}",
                             principal, action_id=action_id, agent_id=action.agent_id,
                             workflow=action.workflow,
                             data={"verdict": chosen.value, "note": note, "notify": notify}))
        # The message to the owner commits with the flag (the outbox), or not at all.
        enqueue(ctx, uow, NotificationEvent.FLAGGED, action, notify,
                data={"note": note, "by": principal.id}, at=now)
        uow.commit()
    return {"action_id": action_id, "verdict": chosen.value}
