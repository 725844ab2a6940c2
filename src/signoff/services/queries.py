"""Read models: the full action record, lists, the inbox and the post-action queue.

Opening an action's full detail as a human is itself an event (``review.viewed``, once per
person): the review clock of ``min_review_seconds`` starts there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from signoff.domain.actions import Action, ActionStatus
from signoff.domain.approvals import eligible_pool
from signoff.domain.identities import Principal
from signoff.domain.policy import Tier
from signoff.errors import InvalidRequest, NotFound
from signoff.services.actions import may_read
from signoff.services.authz import forbid
from signoff.services.context import ServiceContext
from signoff.services.reviews import factors_of, may_post_review, quorum_of

__all__ = [
    "action_record",
    "action_status",
    "build_record",
    "get_action",
    "inbox",
    "list_actions",
    "post_review_queue",
]

_TIER_RANK = {t.value: t.rank for t in Tier}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def action_record(uow: Any, action: Action, principal: Principal, *, now: datetime,
                  timeline: bool = True) -> dict[str, Any]:
    return build_record(action, principal, now=now, reviews=uow.reviews.for_action(action.id),
                        grant=uow.grants.for_action(action.id),
                        outcome=uow.outcomes.get(action.id),
                        events=uow.audit.events(action_id=action.id, limit=10_000)
                        if timeline else None)


def build_record(action: Action, principal: Principal, *, now: datetime, reviews: list[Any],
                 grant: Any, outcome: dict[str, Any] | None,
                 events: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The record from what is already loaded (a fresh proposal needs no second query)."""
    r = action.request
    record: dict[str, Any] = {
        "id": action.id, "status": action.status.value, "tier": action.tier,
        "mode": action.mode, "reasons": action.reasons, "digest": action.digest,
        "workflow": r.workflow, "kind": r.kind, "target": r.target, "params": r.params,
        "summary": r.summary, "inputs": [i.as_dict() for i in r.inputs],
        "impact": r.impact.as_dict(), "on_behalf_of": r.on_behalf_of, "parent_id": r.parent_id,
        "chain": list(r.chain), "chain_depth": r.chain_depth,
        "idempotency_key": r.idempotency_key, "agent_id": action.agent_id,
        "agent_owner_id": action.agent_owner_id, "policy_version": action.policy_version,
        "requirements": {k: v for k, v in action.requirements.items() if k != "requester_id"},
        "eligible": action.eligible,
        "created_at": _iso(action.created_at), "expires_at": _iso(action.expires_at),
        "decided_at": _iso(action.decided_at), "escalated_at": _iso(action.escalated_at),
        "post_review": action.post_review, "post_review_verdict": action.post_review_verdict,
        "quorum": {k: v for k, v in quorum_of(action, reviews).items() if k != "met"},
        "grant": None,
        "reviews": [{"reviewer_id": rv.reviewer_id, "verdict": rv.verdict,
                     "rationale": rv.rationale, "first_viewed_at": _iso(rv.first_viewed_at),
                     "decided_at": _iso(rv.decided_at), "stage": rv.stage} for rv in reviews],
        "outcome": None,
    }
    if grant is not None:
        record["grant"] = {"jti": grant.jti, "state": grant.state(now),
                           "issued_at": _iso(grant.issued_at),
                           "expires_at": _iso(grant.expires_at),
                           "redeemed_at": _iso(grant.redeemed_at)}
        if principal.is_agent and principal.id == action.agent_id:
            record["grant"]["token"] = grant.token
    if outcome is not None:
        record["outcome"] = {**outcome, "at": _iso(outcome["at"])}
    if events is not None:
        record["timeline"] = [{k: e[k] for k in ("seq", "at", "actor", "type", "data")}
                              for e in events]
    return record


def get_action(ctx: ServiceContext, principal: Principal, action_id: str) -> dict[str, Any]:
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        action = uow.actions.get(action_id)
        if action is None:
            raise NotFound(f"no action {action_id}")
        if not may_read(principal, action):
            raise forbid(ctx, principal, "you may not read this action", uow=uow,
                         action_id=action_id)
        needs_view = principal.is_human and uow.reviews.first_view(action_id,
                                                                   principal.id) is None
        if not needs_view:
            return action_record(uow, action, principal, now=now)
    with ctx.uow() as uow:
        if uow.reviews.record_view(action_id, principal.id, now):
            uow.record(ctx.event("review.viewed", principal, action_id=action_id,
                                 agent_id=action.agent_id, workflow=action.workflow,
                                 data={"via": principal.auth_method}))
        uow.commit()
    with ctx.uow(readonly=True) as uow:
        return action_record(uow, action, principal, now=now)


def action_status(ctx: ServiceContext, principal: Principal, action_id: str, *,
                  always_record: bool = False) -> tuple[ActionStatus, dict[str, Any] | None]:
    """Cheap check for long-polls: the status, and the full record once it left pending.

    Unlike :func:`get_action` this never counts as a human opening the detail.
    """
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        action = uow.actions.get(action_id)
        if action is None:
            raise NotFound(f"no action {action_id}")
        if not may_read(principal, action):
            raise forbid(ctx, principal, "you may not read this action", uow=uow,
                         action_id=action_id)
        if action.status is ActionStatus.PENDING and not always_record:
            return action.status, None
        return action.status, action_record(uow, action, principal, now=now)


def list_actions(ctx: ServiceContext, principal: Principal, *, status: list[str] | None = None,
                 workflow: str | None = None, agent_id: str | None = None, limit: int = 50,
                 before: str | None = None) -> list[dict[str, Any]]:
    if status:
        bad = [s for s in status if s not in {x.value for x in ActionStatus}]
        if bad:
            raise InvalidRequest(f"unknown status {bad[0]}", field="status")
    if principal.is_agent:
        agent_id = principal.id
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        actions = uow.actions.list(statuses=status, agent_id=agent_id, workflow=workflow,
                                   limit=max(1, min(limit, 500)), before=before)
        return [action_record(uow, a, principal, now=now, timeline=False) for a in actions]


def _urgency(action: Action, now: datetime) -> tuple[int, int, float]:
    left = (action.expires_at - now).total_seconds() if action.expires_at else float("inf")
    return (-_TIER_RANK.get(action.tier, 0), 0 if action.escalated_at else 1, left)


def inbox(ctx: ServiceContext, principal: Principal, *, workflow: str | None = None,
          agent_id: str | None = None, tier: str | None = None, limit: int = 200
          ) -> list[dict[str, Any]]:
    """Pending actions this person may still decide, most urgent first."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no inbox")
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        pending = uow.actions.list(statuses=[ActionStatus.PENDING.value], workflow=workflow,
                                   agent_id=agent_id, limit=5000)
        mine = [a for a in pending
                if principal.id in eligible_pool(factors_of(a))
                and (tier is None or a.tier == tier)]
        decided = uow.reviews.decided_by(principal.id, [a.id for a in mine]) if mine else set()
        mine = [a for a in mine if a.id not in decided]
        mine.sort(key=lambda a: _urgency(a, now))
        return [action_record(uow, a, principal, now=now, timeline=False) for a in mine[:limit]]


def post_review_queue(ctx: ServiceContext, principal: Principal, *, limit: int = 100
                      ) -> list[dict[str, Any]]:
    """Sampled actions waiting for review after the fact that this person may review (the
    rule of :func:`signoff.services.reviews.post_review`), oldest first."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no review queue")
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        workflows = {w.name: w for w in uow.workflows.list()}
        mine = [a for a in uow.actions.post_review_queue(limit=5000)
                if principal.id != a.requirements.get("requester_id")
                and may_post_review(principal, a.eligible, workflows.get(a.workflow))]
        return [action_record(uow, a, principal, now=now, timeline=False)
                for a in mine[:limit]]
