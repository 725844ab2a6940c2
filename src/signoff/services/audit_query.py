"""Investigation: filtered reads of the event stream, one action's story, a SIEM export.

All of it reads; nothing here can change a stored event. Filters map onto indexed columns
(action, agent, workflow, actor, type, time) and pages are cursors on ``seq`` so a consumer can
resume exactly where it stopped, even while new events are sealed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from signoff.domain.identities import Principal, Role
from signoff.errors import InvalidRequest, NotFound
from signoff.services.audit import CHECKPOINT_FIELDS, AuditDeps, public
from signoff.services.authz import require_role

__all__ = ["action_story", "export", "list_events", "parse_time"]


def parse_time(value: str | None, *, name: str) -> datetime | None:
    """ISO 8601 date or time (UTC when no zone is given); a bad value is a one-line error."""
    if value is None or value == "":
        return None
    from datetime import UTC
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name}: {value!r} is not an ISO 8601 date or time",
                             field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidRequest("since must be before until", field="since")


def list_events(deps: AuditDeps, principal: Principal, *, after: int = 0, limit: int = 500,
                action_id: str | None = None, agent_id: str | None = None,
                workflow: str | None = None, actor: str | None = None,
                types: list[str] | None = None, since: datetime | None = None,
                until: datetime | None = None) -> dict[str, Any]:
    """One page of events; ``next`` is the cursor for the following page (None at the end)."""
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="reading the audit trail")
    if after < 0 or not 1 <= limit <= 5000:
        raise InvalidRequest("after must be >= 0 and limit between 1 and 5000")
    _check_range(since, until)
    with deps.ctx.uow(readonly=True) as uow:
        items = deps.stores(uow).events(after=after, limit=limit, action_id=action_id,
                                        agent_id=agent_id, workflow=workflow, actor=actor,
                                        types=types, since=since, until=until)
    last = items[-1]["seq"] if items else after
    return {"items": items, "next": last if len(items) == limit else None, "next_after": last}


def export(deps: AuditDeps, principal: Principal, *, after: int = 0, batch: int = 2000
           ) -> Iterator[dict[str, Any]]:
    """Events (``kind: event``) then checkpoints (``kind: checkpoint``) after ``after``.

    Resumable: a consumer stores the last event ``seq`` it saw and passes it as ``after``.
    """
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="exporting the audit trail")
    if after < 0:
        raise InvalidRequest("after must be >= 0")
    cursor = after
    while True:
        with deps.ctx.uow(readonly=True) as uow:
            items = deps.stores(uow).events(after=cursor, limit=batch)
        for item in items:
            yield {"kind": "event", **item}
        if len(items) < batch:
            break
        cursor = items[-1]["seq"]
    with deps.ctx.uow(readonly=True) as uow:
        checkpoints = deps.stores(uow).checkpoints(after=after)
    for cp in checkpoints:
        yield {"kind": "checkpoint", **public(cp, CHECKPOINT_FIELDS)}


_PHASES = {
    "action.submitted": "proposed", "review.viewed": "viewed", "review.recorded": "reviewed",
    "action.approved": "approved", "action.rejected": "rejected", "grant.redeemed": "redeemed",
    "action.outcome": "outcome", "action.expired": "expired", "action.cancelled": "cancelled",
    "action.lapsed": "lapsed", "grant.revoked": "grant revoked", "action.escalated": "escalated",
}


def action_story(deps: AuditDeps, principal: Principal, action_id: str) -> dict[str, Any]:
    """Everything about one action, in the order it happened, from the record and the chain."""
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="investigating actions")
    with deps.ctx.uow(readonly=True) as uow:
        action = uow.actions.get(action_id)
        store = deps.stores(uow)
        events = store.events(action_id=action_id, limit=100_000)
        if action is None and not events:
            raise NotFound(f"no action {action_id}")
        names = store.people()
        reviews = uow.reviews.for_action(action_id) if action is not None else []
        grant = uow.grants.for_action(action_id) if action is not None else None
        outcome = uow.outcomes.get(action_id) if action is not None else None
    views: dict[str, str] = {}
    steps = []
    for e in events:
        who = names.get(e["actor"], e["actor"])
        data = e["data"]
        step = {"seq": e["seq"], "at": e["at"], "type": e["type"], "actor": e["actor"],
                "who": who, "what": _PHASES.get(e["type"], e["type"]), "data": data}
        if e["type"] == "review.viewed":
            views[e["actor"]] = e["at"]
        if e["type"] == "review.recorded":
            step["dwell_seconds"] = data.get("dwell_seconds")
        steps.append(step)
    story: dict[str, Any] = {"action_id": action_id, "events": steps, "views": views}
    if action is not None:
        req = action.request
        story["action"] = {
            "workflow": req.workflow, "kind": req.kind, "target": req.target,
            "params": req.params, "summary": req.summary,
            "inputs": [i.as_dict() for i in req.inputs], "impact": req.impact.as_dict(),
            "agent": names.get(f"agent:{action.agent_id}",
                                                        action.agent_id),
            "on_behalf_of": req.on_behalf_of, "parent_id": req.parent_id,
            "chain": [names.get(f"agent:{a}", a) for a in req.chain],
            "digest": action.digest, "status": action.status.value, "tier": action.tier,
            "mode": action.mode, "reasons": action.reasons,
            "policy_version": action.policy_version}
        story["reviews"] = [{"reviewer": names.get(f"human:{r.reviewer_id}", r.reviewer_id),
                             "verdict": r.verdict, "rationale": r.rationale, "stage": r.stage,
                             "first_viewed_at": _iso(r.first_viewed_at),
                             "decided_at": _iso(r.decided_at)} for r in reviews]
        story["grant"] = None if grant is None else {
            "jti": grant.jti, "issued_at": _iso(grant.issued_at),
            "expires_at": _iso(grant.expires_at), "redeemed_at": _iso(grant.redeemed_at),
            "redeemed_by": grant.redeemed_by, "revoked_at": _iso(grant.revoked_at)}
        story["outcome"] = None if outcome is None else {
            **outcome, "at": _iso(outcome.get("at"))}
    return story


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
