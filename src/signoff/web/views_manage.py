"""Owner dashboard, the kill switch and the auditors' views (administration: views_admin)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signoff.domain.identities import Principal
from signoff.errors import NotFound
from signoff.services import console, identities, stopping
from signoff.web.charts import stacked_bars
from signoff.web.support import Console, console_of

router = APIRouter(prefix="/console", include_in_schema=False)
Text = Annotated[str | None, Query(max_length=500)]


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
          # Whole seconds, rounded up: a sub-second rubber stamp still gets a visible bar.
          {"stamp" if r["rubber_stamp"] else "median": math.ceil(r["median_seconds"] or 0)})
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
    preview = console.suspend_preview(c.ctx, session.principal, agent_id)
    return c.page(request, "suspend.html", session=session, agent=preview["agent"],
                  pending=preview["pending"], error=None)


@router.post("/agents/{agent_id}/suspend")
async def suspend(request: Request, agent_id: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/console/agents/{agent_id}/suspend", status_code=303)
    result = await run_in_threadpool(stopping.suspend_agent, c.ctx, session.principal,
                                     agent_id, reason=form.get("reason", ""))
    agent = await run_in_threadpool(_agent, c, session.principal, agent_id)
    return await run_in_threadpool(c.page, request, "suspended.html", session=session,
                                   agent=agent, result=result)


@router.post("/agents/{agent_id}/resume")
async def resume(request: Request, agent_id: str) -> Response:
    c = console_of(request)
    session, _ = await c.posted(request)
    await run_in_threadpool(stopping.resume_agent, c.ctx, session.principal, agent_id)
    return RedirectResponse("/console/admin/agents", status_code=303)


# --- audit (read-only) --------------------------------------------------------------------

@router.get("/audit")
def audit(request: Request, type: Text = None, actor: Text = None,  # noqa: A002
          action: Text = None, workflow: Text = None, q: Text = None,
          before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    found = console.search_audit(c.ctx, session.principal, c.reads, type_prefix=type,
                                 actor=actor, action_id=action, workflow=workflow, text=q,
                                 before=before, limit=100)
    events = found["events"]
    chosen = {"type": type or "", "actor": actor or "", "action": action or "",
              "workflow": workflow or "", "q": q or ""}
    return c.page(request, "audit.html", session=session, events=events, chosen=chosen,
                  names=found["names"],
                  older=events[-1]["seq"] if len(events) == 100 else None)


@router.get("/actions/{action_id}/audit")
def action_audit(request: Request, action_id: str) -> Response:
    """The per-action timeline, read-only: opening it does not start a review clock."""
    c = console_of(request)
    session = c.viewer(request)
    found = console.action_audit(c.ctx, session.principal, action_id)
    return c.page(request, "action_audit.html", session=session, a=found["record"],
                  names=found["names"])
