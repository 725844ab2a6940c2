"""Owner dashboard, the kill switch, administration pages and the auditors' views."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signoff.domain.identities import Principal, Role
from signoff.errors import NotFound, SignoffError
from signoff.services import console, identities, queries, stopping, workflows
from signoff.services.authz import require_role
from signoff.services.elevations import list_elevations
from signoff.web.charts import stacked_bars
from signoff.web.support import Console, console_of

router = APIRouter(prefix="/console", include_in_schema=False)
Text = Annotated[str | None, Query(max_length=500)]


def _csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    data = console.dashboard(c.ctx, session.principal, c.reads, rule=c.rubber_stamp)
    tiers = data["tiers"]
    pending_chart = stacked_bars([(w["workflow"], w["by_tier"]) for w in data["workflows"]],
                                 list(reversed(tiers)))
    speed_chart = stacked_bars(
        [(f"{r['reviewer']} · {r['workflow']}",
          {"stamp" if r["rubber_stamp"] else "median": int(r["median_seconds"] or 0)})
         for r in data["reviewers"]], ["median", "stamp"], label_width=260)
    return c.page(request, "dashboard.html", session=session, d=data,
                  pending_chart=pending_chart, speed_chart=speed_chart)


# --- the kill switch ----------------------------------------------------------------------

def _agent(c: Console, principal: Principal, agent_id: str) -> Any:
    for agent in identities.list_agents(c.ctx, principal):
        if agent.id == agent_id:
            return agent
    raise NotFound(f"no agent {agent_id}")


@router.get("/agents/{agent_id}/suspend")
def suspend_confirm(request: Request, agent_id: str) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    agent = _agent(c, session.principal, agent_id)
    pending = queries.list_actions(c.ctx, session.principal, status=["pending"],
                                   agent_id=agent_id, limit=500)
    return c.page(request, "suspend.html", session=session, agent=agent,
                  pending=len(pending), error=None)


@router.post("/agents/{agent_id}/suspend")
async def suspend(request: Request, agent_id: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/console/agents/{agent_id}/suspend", status_code=303)
    result = await run_in_threadpool(stopping.suspend_agent, c.ctx, session.principal,
                                     agent_id, reason=form.get("reason", ""))
    agent = await run_in_threadpool(_agent, c, session.principal, agent_id)
    return c.page(request, "suspended.html", session=session, agent=agent, result=result)


@router.post("/agents/{agent_id}/resume")
async def resume(request: Request, agent_id: str) -> Response:
    c = console_of(request)
    session, _ = await c.posted(request)
    await run_in_threadpool(stopping.resume_agent, c.ctx, session.principal, agent_id)
    return RedirectResponse("/console/admin/agents", status_code=303)


# --- administration -----------------------------------------------------------------------

def _admin_page(request: Request, c: Console, section: str, *, notice: str | None = None,
                token: str | None = None, error: SignoffError | None = None) -> Response:
    session = c.viewer(request)
    p = session.principal
    require_role(c.ctx, p, Role.ADMIN, what="the administration pages")
    users = identities.list_users(c.ctx, p)
    emails = {u.id: u.email for u in users}
    data: dict[str, Any] = {"users": users, "emails": emails}
    if section == "workflows":
        data["workflows"] = workflows.list_workflows(c.ctx, p)
        data["groups"] = identities.list_groups(c.ctx, p)
    elif section == "agents":
        data["agents"] = identities.list_agents(c.ctx, p)
        data["tokens"] = {a.id: identities.list_tokens(c.ctx, p, a.id) for a in data["agents"]}
        # Just-in-time elevations in force now (granted by an approved signoff.agent.elevate).
        data["elevations"] = {a.id: [e for e in list_elevations(c.ctx, p, a.id) if e["active"]]
                              for a in data["agents"]}
    return c.page(request, f"admin_{section}.html", session=session, section=section,
                  notice=notice, token=token, error=error,
                  status=error.status if error else 200, **data)


@router.get("/admin/{section}")
def admin(request: Request, section: str) -> Response:
    if section not in ("workflows", "agents", "users"):
        raise NotFound(f"no admin page {section}")
    return _admin_page(request, console_of(request), section)


@router.post("/admin/{section}/{op}")
async def admin_post(request: Request, section: str, op: str) -> Response:
    c = console_of(request)
    session, f = await c.posted(request)
    p, ctx = session.principal, c.ctx
    notice, token = "", None
    try:
        if (section, op) == ("workflows", "create"):
            await run_in_threadpool(workflows.create_workflow, ctx, p, name=f.get("name", ""),
                                    owner_email=f.get("owner", ""),
                                    backups=_csv(f.get("backups")), groups=_csv(f.get("groups")))
            notice = "Workflow created."
        elif (section, op) == ("workflows", "owner"):
            await run_in_threadpool(workflows.set_workflow_owner, ctx, p, f.get("name", ""),
                                    owner_email=f.get("owner", ""))
            notice = "Owner changed (on record)."
        elif (section, op) == ("workflows", "update"):
            await run_in_threadpool(workflows.update_workflow, ctx, p, f.get("name", ""),
                                    backups=_csv(f.get("backups")), groups=_csv(f.get("groups")))
            notice = "Backups and groups saved."
        elif (section, op) == ("agents", "create"):
            _, token = await run_in_threadpool(
                identities.create_agent, ctx, p, name=f.get("name", ""),
                owner_email=f.get("owner", ""),
                scopes={"workflows": _csv(f.get("workflows")), "kinds": _csv(f.get("kinds"))})
            notice = "Agent registered. Copy its token now: it is shown once."
        elif (section, op) == ("agents", "token"):
            _, token = await run_in_threadpool(identities.create_agent_token, ctx, p,
                                               f.get("agent_id", ""),
                                               name=f.get("name", "") or "console")
            notice = "New token issued. Copy it now: it is shown once."
        elif (section, op) == ("agents", "revoke-token"):
            await run_in_threadpool(identities.revoke_token, ctx, p, f.get("token_id", ""))
            notice = "Token revoked."
        elif (section, op) == ("users", "create"):
            roles = [r.value for r in Role if f.get(f"role_{r.value}") == "on"]
            await run_in_threadpool(identities.create_user, ctx, p, email=f.get("email", ""),
                                    name=f.get("name", ""), roles=roles,
                                    password=f.get("password") or None)
            notice = "User created."
        elif (section, op) == ("users", "active"):
            await run_in_threadpool(identities.update_user, ctx, p, f.get("user_id", ""),
                                    active=f.get("active") == "yes")
            notice = "User updated."
        else:
            raise NotFound(f"no admin operation {section}/{op}")
    except SignoffError as exc:
        return await run_in_threadpool(_admin_page, request, c, section, error=exc)
    return await run_in_threadpool(_admin_page, request, c, section, notice=notice,
                                   token=token)


# --- audit (read-only) --------------------------------------------------------------------

@router.get("/audit")
def audit(request: Request, type: Text = None, actor: Text = None,  # noqa: A002
          action: Text = None, workflow: Text = None, q: Text = None,
          before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    events = console.search_audit(c.ctx, session.principal, c.reads, type_prefix=type,
                                  actor=actor, action_id=action, workflow=workflow, text=q,
                                  before=before, limit=100)
    chosen = {"type": type or "", "actor": actor or "", "action": action or "",
              "workflow": workflow or "", "q": q or ""}
    return c.page(request, "audit.html", session=session, events=events, chosen=chosen,
                  older=events[-1]["seq"] if len(events) == 100 else None)


@router.get("/actions/{action_id}/audit")
def action_audit(request: Request, action_id: str) -> Response:
    """The per-action timeline, read-only: opening it does not start a review clock."""
    c = console_of(request)
    session = c.viewer(request)
    require_role(c.ctx, session.principal, Role.AUDITOR, Role.ADMIN, what="the audit view")
    _, record = queries.action_status(c.ctx, session.principal, action_id, always_record=True)
    return c.page(request, "action_audit.html", session=session, a=record)
