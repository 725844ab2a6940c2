"""The evidence report's content: what happened in a period, and which controls it supports.

Figures come from the stored actions, reviews and outcomes and from the audit events of the
period; the chain is verified as part of building the report so the report states whether the
record it summarises is intact. Rendering (HTML with inline SVG, Markdown) lives in
``signoff.adapters.report``: this module returns plain data, so the report is testable without
parsing HTML.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from signoff.domain.identities import Principal, Role
from signoff.errors import InvalidRequest
from signoff.services.audit import AuditDeps, verify
from signoff.services.authz import require_role
from signoff.services.controls import CONTROLS

__all__ = ["collect"]

HIGH = ("high", "critical")
TIERS = ("low", "medium", "high", "critical")


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds(), 1)
    return None


def collect(deps: AuditDeps, principal: Principal, *, since: datetime, until: datetime
            ) -> dict[str, Any]:
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="evidence reports")
    if since >= until:
        raise InvalidRequest("since must be before until", field="since")
    with deps.ctx.uow(readonly=True) as uow:
        store = deps.stores(uow)
        actions = store.actions_between(since, until)
        ids = [a["id"] for a in actions]
        reviews = store.reviews_for(ids)
        outcomes = store.outcomes_for(ids)
        workflows = store.workflows()
        names = store.people()
        events = store.events(since=since, until=until, limit=1_000_000, types=[
            "workflow.owner_changed", "agent.suspended", "action.refused", "review.refused",
            "access.denied", "review.viewed", "grant.redeemed", "agent.created"])
        total_events = len(store.events(since=since, until=until, limit=1_000_000))
    chain = verify(deps, principal)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for r in reviews:
        by_action.setdefault(r["action_id"], []).append(r)
    kinds = Counter(e["type"] for e in events)

    high = []
    for a in actions:
        if a["tier"] not in HIGH:
            continue
        pre = [r for r in by_action.get(a["id"], []) if r["stage"] != "post"]
        high.append({
            "id": a["id"], "workflow": a["workflow"], "kind": a["kind"], "target": a["target"],
            "tier": a["tier"], "status": a["status"],
            "approvers": [r["email"] or "?" for r in pre if r["verdict"] == "approve"],
            "rejected_by": [r["email"] or "?" for r in pre if r["verdict"] == "reject"],
            "rationales": [r["rationale"] for r in pre],
            "decision_seconds": _seconds(a["created_at"], a["decided_at"])
            if a["mode"] == "require_approval" else None,
            "outcome": (outcomes.get(a["id"]) or {}).get("status")})
    unapproved = [{
        "id": a["id"], "workflow": a["workflow"], "kind": a["kind"], "tier": a["tier"],
        "mode": a["mode"], "status": a["status"],
        "why": f"{a['tier']} tier, mode {a['mode']}" + (
            " (sampled for post-action review)" if a["post_review"] else ""),
        "post_review": a["post_review_verdict"] or ("pending" if a["post_review"] else None),
        "outcome": (outcomes.get(a["id"]) or {}).get("status"),
    } for a in actions if a["mode"] in ("allow", "allow_and_review")]
    ended = [{"id": a["id"], "workflow": a["workflow"], "kind": a["kind"], "tier": a["tier"],
              "status": a["status"], "at": a["decided_at"]}
             for a in actions if a["status"] in ("expired", "rejected", "cancelled", "lapsed",
                                                 "denied")]
    owner_changes = [{"at": e["at"], "workflow": e["data"].get("workflow") or e["workflow"],
                      "from": e["data"].get("from"), "to": e["data"].get("to"),
                      "by": names.get(e["actor"], e["actor"])}
                     for e in events if e["type"] == "workflow.owner_changed"]
    suspensions = [{"at": e["at"], "agent": names.get(f"agent:{e['data'].get('agent_id')}",
                                                      e["data"].get("agent_id")),
                    "by": names.get(e["actor"], e["actor"]), "reason": e["data"].get("reason"),
                    "actions_cancelled": e["data"].get("actions_cancelled"),
                    "grants_revoked": e["data"].get("grants_revoked")}
                   for e in events if e["type"] == "agent.suspended"]
    decision_times = [h["decision_seconds"] for h in high if h["decision_seconds"] is not None]
    decision_times += [_seconds(a["created_at"], a["decided_at"]) for a in actions
                       if a["tier"] not in HIGH and a["mode"] == "require_approval"
                       and a["decided_at"] is not None]
    found = {
        "workflows": len(workflows), "owner_changes": len(owner_changes),
        "refusals": kinds["action.refused"] + kinds["review.refused"] + kinds["access.denied"],
        "actions": len(actions), "policy_versions": len({a.get("policy_version")
                                                          for a in actions} - {None}),
        "decisions": len(decision_times), "post_reviews": sum(1 for a in actions
                                                              if a["post_review_verdict"]),
        "agents": len({a["agent_id"] for a in actions}) + kinds["agent.created"],
        "outcomes": len(outcomes), "reviews": len(reviews), "events": total_events,
        "views": kinds["review.viewed"], "chain": 1 if chain["ok"] else 0,
        "checkpoints": chain["checkpoints"], "suspensions": len(suspensions),
        "gated": sum(1 for a in actions if a["mode"] == "require_approval"),
        "approvals": sum(1 for r in reviews if r["verdict"] == "approve"),
        "denials": sum(1 for a in actions if a["status"] == "denied"),
        "rejections": sum(1 for a in actions if a["status"] == "rejected"),
        "redemptions": kinds["grant.redeemed"],
        "handoffs": sum(1 for a in actions if a.get("parent_id")),
    }
    controls = []
    for c in CONTROLS:
        hits = [f"{found[k]} {k.replace('_', ' ')}" for k in c.keys if found.get(k)]
        controls.append({"framework": c.framework, "id": c.id, "statement": c.statement,
                         "produces": c.produces, "fit": c.fit,
                         "evidence": "; ".join(hits) if hits else "no evidence"})
    return {
        "since": since.isoformat(), "until": until.isoformat(),
        "generated_at": deps.ctx.now().isoformat(),
        "workflows": [{**w, "changes": [c for c in owner_changes
                                        if c["workflow"] == w["name"]]} for w in workflows],
        "counts": {
            "by_tier": {t: sum(1 for a in actions if a["tier"] == t) for t in TIERS},
            "by_mode": dict(Counter(a["mode"] for a in actions)),
            "by_status": dict(Counter(a["status"] for a in actions)), "total": len(actions)},
        "high": high, "unapproved": unapproved, "ended": ended, "suspensions": suspensions,
        "owner_changes": owner_changes, "decision_times": sorted(decision_times),
        "chain": chain, "controls": controls, "found": found,
    }
