"""Running the policy: what is active, reloads (API and SIGHUP), loads on record, shadow report.

The policy source is whatever the composition root wired: always a policy file behind a
reloadable source, ``SIGNOFF_POLICY`` or the shipped default. Every load and reload, good or
bad, is an audit event committed through a unit of work.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from signoff.domain.identities import Principal, Role
from signoff.domain.policy import Mode, Tier
from signoff.services.authz import require_role
from signoff.services.context import ServiceContext

__all__ = ["describe_policy", "record_policy_loaded", "reload_policy", "shadow_report",
           "strictness"]

SYSTEM = "system:signoff"
_MODE_RANK = {Mode.ALLOW.value: 0, Mode.ALLOW_AND_REVIEW.value: 1,
              Mode.REQUIRE_APPROVAL.value: 2, Mode.DENY.value: 3}


def describe_policy(ctx: ServiceContext) -> dict[str, Any]:
    """``source`` (``shipped_default`` or ``file``), active (and shadow) version, files, rule ids
    and ``warnings``: approvers that name nobody in the directory right now."""
    info = ctx.policy.describe()
    for side in ("active", "shadow"):
        if info.get(side):
            info[side]["warnings"] = approver_warnings(
                ctx, info[side].pop("directory_approvers", None) or [])
    return info


def approver_warnings(ctx: ServiceContext, uses: list[dict[str, Any]]) -> list[str]:
    """``file:line:col: rule id: EXPR names nobody now (why)`` for each ``user:``, ``group:`` or
    ``role:`` approver with no active person behind it.

    Warnings, not errors: groups and people are managed through the running server, so a policy
    may be loaded before its groups exist. Until they do, an action that needs them cannot reach
    its quorum and is denied (``quorum.impossible``): this says why before that happens.
    """
    if not uses:
        return []
    with ctx.uow(readonly=True) as uow:
        humans = uow.humans.list()
        groups = {g.name: g for g in uow.groups.list()}
    active = {h.id for h in humans if h.active}
    by_email = {h.email.lower(): h for h in humans}
    out: list[str] = []
    for use in uses:
        kind, _, name = use["expr"].partition(":")
        if kind == "user":
            human = by_email.get(name.lower())
            why = "no such user" if human is None else None if human.active else "inactive"
            fix = f"add them: signoff user add {name}"
        elif kind == "group":
            group = groups.get(name)
            why = "no such group" if group is None else \
                None if set(group.members) & active else "no active members"
            fix = f"create it: signoff group add {name} --members EMAIL,..."
        else:
            why = None if any(name in h.roles for h in humans if h.active) else \
                "no active person holds this role"
            fix = "give the role to someone active"
        if why:
            where = f"{use['file']}:{use['line']}:{use['column']}"
            rule = f" rule {use['rule_id']}:" if use.get("rule_id") else ""
            out.append(f"{where}:{rule} {use['expr']} names nobody now ({why}); {fix}")
    return list(dict.fromkeys(out))


def record_policy_loaded(ctx: ServiceContext, *, trigger: str = "start") -> list[str]:
    """A process put a policy in force (``policy.loaded``, also for the shipped default).

    Returns the approver warnings, for the server's log."""
    info = describe_policy(ctx)
    with ctx.uow() as uow:
        uow.record(ctx.event("policy.loaded", SYSTEM, data={"trigger": trigger,
                                                            **_versions(info)}))
        uow.commit()
    return list((info.get("active") or {}).get("warnings") or [])


def _versions(info: dict[str, Any]) -> dict[str, Any]:
    active, shadow = info.get("active") or {}, info.get("shadow") or {}
    return {"source": info.get("source"), "version": active.get("version"),
            "path": active.get("path"),
            "rules": len(active.get("rule_ids") or []),
            "shadow_version": shadow.get("version"), "shadow_path": shadow.get("path"),
            "warnings": list(active.get("warnings") or [])}


def reload_policy(ctx: ServiceContext, principal: Principal | None, *, trigger: str = "api"
                  ) -> dict[str, Any]:
    """Re-read the policy files; a bad file keeps the last good policy (``ok: false``).

    Without ``SIGNOFF_POLICY`` the file re-read is the shipped default (unchanged unless signoff
    was upgraded in place: ``changed: false``) and the shadow file, if any, so a candidate policy
    can be iterated on without a restart. ``principal`` is ``None`` for SIGHUP (the operator of
    the machine). Either way the attempt is recorded: ``policy.reloaded`` or
    ``policy.reload_failed`` with the errors.
    """
    if principal is not None:
        require_role(ctx, principal, Role.ADMIN, what="reloading the policy")
    result = ctx.policy.reload().as_dict()
    failed = not result["ok"] or bool(result.get("shadow_errors"))
    actor = principal.actor if principal is not None else SYSTEM
    info = describe_policy(ctx)
    result["warnings"] = list((info.get("active") or {}).get("warnings") or [])
    with ctx.uow() as uow:
        uow.record(ctx.event("policy.reload_failed" if failed else "policy.reloaded", actor,
                             data={"trigger": trigger, "source": info.get("source"), **result}))
        uow.commit()
    return {**result, "policy": info}


def strictness(mode: str | None, tier: str | None, approvals: int | None = None
               ) -> tuple[int, int, int]:
    """Order decisions: mode first (deny strictest), then tier, then approvals."""
    tier_rank = Tier(tier).rank if tier in {t.value for t in Tier} else -1
    return (_MODE_RANK.get(mode or "", -1), tier_rank, int(approvals or 0))


def _compare(row: dict[str, Any]) -> str:
    active, shadow = row["active"], row["shadow"]
    if shadow.get("error"):
        return "error"
    if not shadow.get("differs"):
        return "same"
    a = strictness(active.get("mode"), active.get("tier"), active.get("approvals"))
    s = strictness(shadow.get("mode"), shadow.get("tier"), shadow.get("approvals"))
    if s > a:
        return "stricter"
    if s < a:
        return "looser"
    return "different"   # same mode/tier/approvals; other rules or requirements differ


def shadow_report(ctx: ServiceContext, principal: Principal, *, since: datetime | None = None,
                  only_differences: bool = True, limit: int = 10_000) -> dict[str, Any]:
    """Where the shadow policy would have decided differently, with a summary."""
    require_role(ctx, principal, Role.ADMIN, Role.AUDITOR, what="reading the shadow report")
    with ctx.uow(readonly=True) as uow:
        rows = uow.shadow.decisions(since=since, limit=limit)
    counts: Counter[str] = Counter()
    items: list[dict[str, Any]] = []
    for row in rows:
        reqs = row["active"]
        approvals = (row["shadow"].get("differences") or {}).get("requirements.approvals")
        reqs["approvals"] = approvals[0] if isinstance(approvals, list) else \
            row["shadow"].get("approvals")
        verdict = _compare(row)
        counts[verdict] += 1
        if only_differences and verdict == "same":
            continue
        at = row["at"]
        items.append({"action_id": row["action_id"], "at": at.isoformat()
                      if isinstance(at, datetime) else at, "agent_id": row["agent_id"],
                      "workflow": row["workflow"], "kind": row["kind"],
                      "status": row["status"], "verdict": verdict, "active": reqs,
                      "shadow": {k: row["shadow"].get(k) for k in
                                 ("version", "mode", "tier", "matched_rules", "approvals",
                                  "differences", "error")}})
    summary = {"evaluated": len(rows), "differing": len(rows) - counts["same"],
               "stricter": counts["stricter"], "looser": counts["looser"],
               "different": counts["different"], "errors": counts["error"],
               "same": counts["same"], "since": since.isoformat() if since else None}
    return {"summary": summary, "items": items}
