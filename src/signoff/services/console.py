"""Read models of the review console: inbox page, action context, owner dashboard, audit search.

Decisions stay in the use cases the API calls (``queries``, ``reviews``, ``actions``,
``stopping``); these functions only gather what a person needs on one screen. The inbox uses
the same eligibility rule as :func:`signoff.services.queries.inbox` but reads light rows
(no params, a summary prefix), so a thousand pending actions render in milliseconds.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from signoff.domain.approvals import EligibleFactor, eligible_pool, quorum_state
from signoff.domain.identities import Principal, Role
from signoff.domain.policy import Tier
from signoff.errors import NotFound
from signoff.services.authz import forbid, is_admin
from signoff.services.context import ServiceContext
from signoff.services.ports import UnitOfWork
from signoff.services.queries import action_record, action_status
from signoff.services.reviews import may_post_review
from signoff.services.stopping import may_suspend

__all__ = ["ConsoleReads", "RubberStamp", "action_audit", "action_context", "actor_names",
           "approval_effect", "dashboard", "inbox_view", "post_review_view", "reviewer_stats",
           "search_audit", "suspend_preview"]

class ConsoleReads(Protocol):
    def inbox_rows(self, *, user_id: str, workflow: str | None = None,
                   agent_id: str | None = None, tier: str | None = None, limit: int = 50
                   ) -> tuple[list[dict[str, Any]], int, int]: ...
    def approvals_by_action(self, action_ids: Sequence[str]) -> dict[str, int]: ...
    def post_review_open(self, limit: int = 5000) -> list[dict[str, Any]]: ...
    def counts_by_workflow(self, workflows: Sequence[str] | None, since: datetime
                           ) -> list[dict[str, Any]]: ...
    def decisions(self, workflows: Sequence[str] | None, since: datetime,
                  limit: int = 50_000) -> list[dict[str, Any]]: ...
    def flagged(self, workflows: Sequence[str] | None, limit: int = 50
                ) -> list[dict[str, Any]]: ...
    def outcomes_for(self, action_ids: Sequence[str]) -> dict[str, str]: ...
    def search_events(self, *, type_prefix: str | None = None, actor: str | None = None,
                      action_id: str | None = None, workflow: str | None = None,
                      text: str | None = None, before: int | None = None, limit: int = 100
                      ) -> list[dict[str, Any]]: ...


Reads = Callable[[UnitOfWork], ConsoleReads]


@dataclass(frozen=True, slots=True)
class RubberStamp:
    min_decisions: int = 10
    approval_rate: float = 0.95
    speed_ratio: float = 0.25


def inbox_view(ctx: ServiceContext, principal: Principal, reads: Reads, *,
               workflow: str | None = None, agent_id: str | None = None,
               tier: str | None = None, limit: int = 50) -> dict[str, Any]:
    """The inbox page: rows most urgent first, counters, and the choices for the filters.

    Same rule as :func:`signoff.services.queries.inbox` (pending, in this person's resolved
    pool, not yet decided by them); the database sorts and limits.
    """
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no inbox")
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        store = reads(uow)
        rows, total, escalated = store.inbox_rows(user_id=principal.id, workflow=workflow,
                                                  agent_id=agent_id, tier=tier, limit=limit)
        shown = [r for r in rows if principal.id in eligible_pool(
            [EligibleFactor.from_dict(f) for f in r["eligible"]])]
        approvals = store.approvals_by_action([r["id"] for r in shown])
        agents = {a.id: a for a in uow.agents.list()}
        all_workflows = uow.workflows.list()
        workflows = sorted(w.name for w in all_workflows)
        post_count = len(_post_reviewable(principal, store, all_workflows))
    items = []
    for r in shown:
        required = sum(int(f.get("count", 1)) for f in r["eligible"])
        agent = agents.get(r["agent_id"])
        items.append({**r, "agent_name": agent.name if agent else r["agent_id"],
                      "approvals": approvals.get(r["id"], 0), "required": required,
                      "seconds_left": int((r["expires_at"] - now).total_seconds())
                      if r["expires_at"] else None})
    # What the page shows that another reviewer can change: which rows, their quorum so far.
    digest = hashlib.sha256(",".join(f"{r['id']}:{r['approvals']}" for r in items).encode()
                            ).hexdigest()[:16]
    return {"rows": items, "total": total,
            "counts": {"pending": total, "escalated": escalated, "post_review": post_count},
            "fingerprint": f"{total}:{escalated}:{digest}",
            "workflows": workflows,
            "agents": sorted(((a.id, a.name) for a in agents.values()), key=lambda x: x[1]),
            "tiers": [t.value for t in Tier]}


def _post_reviewable(principal: Principal, store: ConsoleReads, workflows: Sequence[Any]
                     ) -> list[str]:
    """Ids of the open post-action reviews this person may do (the service's own rule)."""
    by_name = {w.name: w for w in workflows}
    return [r["id"] for r in store.post_review_open()
            if principal.id != (r["requirements"] or {}).get("requester_id")
            and may_post_review(principal, r["eligible"] or [], by_name.get(r["workflow"]))]


def post_review_view(ctx: ServiceContext, principal: Principal, reads: Reads, *,
                     limit: int = 100) -> dict[str, Any]:
    """The post-action review queue of one person: what they may mark ok or flag."""
    if not principal.is_human:
        raise forbid(ctx, principal, "agents have no review queue")
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        ids = _post_reviewable(principal, reads(uow), uow.workflows.list())
        loaded = [uow.actions.get(i) for i in ids[:limit]]
        items = [action_record(uow, a, principal, now=now, timeline=False)
                 for a in loaded if a is not None]
    return {"rows": items, "total": len(ids)}


def action_context(ctx: ServiceContext, principal: Principal, reads: Reads,
                   record: dict[str, Any], *, similar: int = 10) -> dict[str, Any]:
    """Who is who around one action (names, owners), and this agent's recent similar work."""
    with ctx.uow(readonly=True) as uow:
        agent = uow.agents.get(record["agent_id"])
        wf = uow.workflows.get(record["workflow"])
        people_ids = {record["agent_owner_id"], *(r["reviewer_id"] for r in record["reviews"])}
        if wf is not None:
            people_ids |= {wf.owner_id, *wf.backups}
        people = {pid: h for pid in people_ids if (h := uow.humans.get(pid)) is not None}
        chain = [(aid, a.name if (a := uow.agents.get(aid)) else "") for aid in record["chain"]]
        recent = uow.actions.recent_similar(agent_id=record["agent_id"], kind=record["kind"],
                                            exclude=record["id"], limit=similar)
        outcomes = reads(uow).outcomes_for([a.id for a in recent])
        actors = actor_names(uow, [e["actor"] for e in record.get("timeline", [])])
        first_view = uow.reviews.first_view(record["id"], principal.id) \
            if principal.is_human else None
        stored = uow.actions.get(record["id"])
        requester = stored.requirements.get("requester_id") if stored else None
        may_stop = agent is not None and agent.status == "active" \
            and may_suspend(uow, principal, agent)
    now = ctx.now()
    min_review = int(record["requirements"].get("min_review_seconds") or 0)
    waited = (now - first_view).total_seconds() if first_view else 0.0
    eligible = {x for f in record["eligible"] for x in f.get("pool", [])}
    decided = {r["reviewer_id"] for r in record["reviews"] if r["stage"] == "pre"}
    owner_like = is_admin(principal) or (wf is not None and wf.owner_id == principal.id)

    may_decide = principal.id in eligible and principal.id not in decided \
        and record["status"] == "pending"

    def name_of(pid: str | None) -> str:
        if pid is None:
            return ""
        h = people.get(pid)
        return f"{h.name} <{h.email}>" if h else pid

    return {
        "agent": agent, "agent_owner": name_of(record["agent_owner_id"]),
        "workflow": wf, "workflow_owner": name_of(wf.owner_id) if wf else "",
        "workflow_backups": [name_of(b) for b in wf.backups] if wf else [],
        "reviewer_names": {pid: name_of(pid) for pid in people},
        "chain": chain,
        "recent": [{"id": a.id, "status": a.status.value, "target": a.request.target,
                    "created_at": a.created_at, "outcome": outcomes.get(a.id)} for a in recent],
        "seconds_left": max(0, int(min_review - waited + 0.999)) if first_view else min_review,
        "min_review_seconds": min_review,
        "may_decide": may_decide,
        "may_approve": may_decide and principal.id != requester,
        "is_requester": principal.id == requester,
        "effect": approval_effect(record, principal.id) if may_decide else None,
        "already_decided": principal.id in decided,
        "may_cancel": owner_like and record["status"] in ("pending", "allowed", "approved"),
        "may_suspend": may_stop,
        "grant_ttl": record["requirements"].get("grant_ttl"),
        "actors": actors,
        "may_audit": principal.has(Role.AUDITOR) or is_admin(principal),
    }


def approval_effect(record: dict[str, Any], reviewer_id: str) -> dict[str, Any]:
    """What this reviewer's approval would do: meet the quorum, or leave it short by N.

    The same matching the server runs (one person fills one slot; at ``critical`` the agent's
    owner alone never suffices), so "approving issues the grant" is never a guess from counts.
    """
    factors = [EligibleFactor.from_dict(f) for f in record["eligible"]]
    approvers = [r["reviewer_id"] for r in record["reviews"]
                 if r["stage"] == "pre" and r["verdict"] == "approve"]
    tier, owner = Tier(record["tier"]), record["agent_owner_id"]
    before = quorum_state(factors, approvers, tier=tier, agent_owner_id=owner)
    after = quorum_state(factors, [*approvers, reviewer_id], tier=tier, agent_owner_id=owner)
    return {"meets": after.met, "short_by": after.short_by,
            "counts": after.short_by < before.short_by}


def suspend_preview(ctx: ServiceContext, principal: Principal, agent_id: str
                    ) -> dict[str, Any]:
    """The kill switch's confirmation page: the agent and what suspending it will stop, for
    the people the service lets suspend it (others get the refusal before the form)."""
    with ctx.uow(readonly=True) as uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not may_suspend(uow, principal, agent):
            raise forbid(ctx, principal, "only an admin, the agent's owner or the owner of one "
                         "of its workflows may suspend it", uow=uow)
        pending = len(uow.actions.pending_for_agent(agent_id))
    return {"agent": agent, "pending": pending}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def reviewer_stats(decisions: list[dict[str, Any]], rule: RubberStamp) -> list[dict[str, Any]]:
    """Per reviewer and workflow: decisions, median dwell, approval rate, pace, and a warning.

    Dwell is first view -> decision. A reviewer is flagged when they have at least
    ``min_decisions``, approve at least ``approval_rate`` of them, and their median dwell is
    below ``speed_ratio`` times the median dwell of everyone in that workflow.
    """
    by_wf: dict[str, list[float]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        dwell = (d["decided_at"] - d["first_viewed_at"]).total_seconds() \
            if d["first_viewed_at"] else 0.0
        by_wf[d["workflow"]].append(dwell)
        by_pair[(d["reviewer_id"], d["workflow"])].append({**d, "dwell": dwell})
    out = []
    for (reviewer, workflow), items in sorted(by_pair.items()):
        dwells = [i["dwell"] for i in items]
        approvals = sum(1 for i in items if i["verdict"] == "approve")
        span = (max(i["decided_at"] for i in items) - min(i["decided_at"] for i in items))
        hours = max(span.total_seconds() / 3600, 1.0)
        median, wf_median = _median(dwells), _median(by_wf[workflow])
        rate = approvals / len(items)
        stamp = (len(items) >= rule.min_decisions and rate >= rule.approval_rate
                 and median is not None and wf_median is not None and wf_median > 0
                 and median < rule.speed_ratio * wf_median)
        out.append({"reviewer_id": reviewer, "workflow": workflow, "decisions": len(items),
                    "median_seconds": median, "workflow_median_seconds": wf_median,
                    "approval_rate": rate, "per_hour": len(items) / hours,
                    "rubber_stamp": stamp})
    return out


_COUNTED = ("pending", "escalated", "breached", "expired")


def _no_counts(workflow: str) -> dict[str, Any]:
    return {"workflow": workflow, "by_tier": {}, **dict.fromkeys(_COUNTED, 0)}


def dashboard(ctx: ServiceContext, principal: Principal, reads: Reads, *, rule: RubberStamp,
              days: int = 30) -> dict[str, Any]:
    """The owner dashboard: admins and auditors see every workflow, owners their own."""
    if not (is_admin(principal) or principal.has(Role.AUDITOR) or principal.has(Role.OWNER)):
        raise forbid(ctx, principal, "the dashboard is for owners, admins and auditors")
    since = ctx.now() - timedelta(days=days)
    with ctx.uow(readonly=True) as uow:
        scope: list[str] | None = None
        if not (is_admin(principal) or principal.has(Role.AUDITOR)):
            scope = sorted({w.name for w in uow.workflows.list()
                            if w.owner_id == principal.id or principal.id in w.backups})
        store = reads(uow)
        counts = store.counts_by_workflow(scope, since)
        decisions = store.decisions(scope, since)
        flagged = store.flagged(scope)
        names = {h.id: h.email for h in uow.humans.list()}
    per_wf: dict[str, dict[str, Any]] = {}
    for c in counts:
        entry = per_wf.setdefault(c["workflow"], _no_counts(c["workflow"]))
        entry["by_tier"][c["tier"]] = int(c["pending"] or 0)
        for key in _COUNTED:
            entry[key] += int(c[key] or 0)
    for name in scope or []:
        per_wf.setdefault(name, _no_counts(name))
    stats = reviewer_stats(decisions, rule)
    for s in stats:
        s["reviewer"] = names.get(s["reviewer_id"], s["reviewer_id"])
    for f in flagged:
        f["reviewer"] = names.get(f["reviewer_id"], f["reviewer_id"])
    return {"workflows": [per_wf[k] for k in sorted(per_wf)], "reviewers": stats,
            "flagged": flagged, "days": days, "tiers": [t.value for t in Tier], "rule": rule}


def search_audit(ctx: ServiceContext, principal: Principal, reads: Reads, *,
                 type_prefix: str | None = None, actor: str | None = None,
                 action_id: str | None = None, workflow: str | None = None,
                 text: str | None = None, before: int | None = None, limit: int = 100
                 ) -> dict[str, Any]:
    """The auditors' searchable event list (read-only), with the actors' names."""
    if not (principal.has(Role.AUDITOR) or is_admin(principal)):
        raise forbid(ctx, principal, "the audit trail is for auditors and admins")
    with ctx.uow(readonly=True) as uow:
        events = reads(uow).search_events(type_prefix=type_prefix or None, actor=actor or None,
                                          action_id=action_id or None,
                                          workflow=workflow or None, text=text or None,
                                          before=before, limit=max(1, min(limit, 500)))
        return {"events": events, "names": actor_names(uow, [e["actor"] for e in events])}


def action_audit(ctx: ServiceContext, principal: Principal, action_id: str
                 ) -> dict[str, Any]:
    """One action's record and whole timeline for auditors; never starts a review clock."""
    if not (principal.has(Role.AUDITOR) or is_admin(principal)):
        raise forbid(ctx, principal, "the audit view needs the auditor or admin role",
                     action_id=action_id)
    _, record = action_status(ctx, principal, action_id, always_record=True)
    assert record is not None
    with ctx.uow(readonly=True) as uow:
        names = actor_names(uow, [e["actor"] for e in record["timeline"]])
    return {"record": record, "names": names}


def actor_names(uow: UnitOfWork, actors: Sequence[str]) -> dict[str, str]:
    """``human:usr_…`` -> the person's email, ``agent:agt_…`` -> the agent's name: ids alone
    tell an auditor nothing."""
    names: dict[str, str] = {}
    for actor in dict.fromkeys(actors):
        kind, _, ident = actor.partition(":")
        if kind == "human" and (h := uow.humans.get(ident)) is not None:
            names[actor] = h.email
        elif kind == "agent" and (a := uow.agents.get(ident)) is not None:
            names[actor] = a.name
    return names
