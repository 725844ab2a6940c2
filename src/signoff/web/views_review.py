"""Inbox, action page, deciding, cancelling, and the post-action review queue.

Views translate and render; every decision is the same use case the API calls, made as the
signed-in human (``queries.get_action`` records ``review.viewed`` and starts the review clock;
``reviews.review_action`` refuses a too-early approval with the seconds left).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signoff.domain.deception import Revealed, flatten, mismatches, reveal
from signoff.errors import InvalidRequest, SignoffError
from signoff.services import actions, console, notices, queries, reviews
from signoff.services.sessions import WebSession
from signoff.web.support import Console, console_of

router = APIRouter(prefix="/console", include_in_schema=False)
Filter = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _filters(workflow: str | None, agent: str | None, tier: str | None) -> dict[str, str | None]:
    return {"workflow": workflow or None, "agent_id": agent or None, "tier": tier or None}


@router.get("")
def home() -> Response:
    return RedirectResponse("/console/inbox", status_code=303)


@router.get("/inbox")
def inbox(request: Request, workflow: Filter = None, agent: Filter = None,
          tier: Filter = None, limit: Limit = 50) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    view = console.inbox_view(c.ctx, session.principal, c.reads, limit=limit,
                              **_filters(workflow, agent, tier))
    return c.page(request, "inbox.html", session=session, view=view,
                  chosen={"workflow": workflow or "", "agent": agent or "", "tier": tier or ""},
                  query=request.url.query)


@router.get("/inbox/poll")
def inbox_poll(request: Request, workflow: Filter = None, agent: Filter = None,
               tier: Filter = None, limit: Limit = 50) -> Response:
    """What our script polls: a fingerprint of the inbox and the counters."""
    c = console_of(request)
    session = c.viewer(request)
    view = console.inbox_view(c.ctx, session.principal, c.reads, limit=limit,
                              **_filters(workflow, agent, tier))
    return JSONResponse({"fingerprint": view["fingerprint"], "counts": view["counts"]})


def _scan(record: dict[str, Any], ctx: dict[str, Any]) -> list[tuple[str, Revealed]]:
    """Every agent-provided field shown on the page, with what is hidden in it."""
    fields: list[tuple[str, str]] = [
        ("summary", record["summary"]), ("target", record["target"]), ("kind", record["kind"]),
        ("workflow", record["workflow"]), ("impact.description",
                                           record["impact"]["description"]),
        ("on_behalf_of", record["on_behalf_of"] or ""),
        ("agent name", ctx["agent"].name if ctx["agent"] else "")]
    for i, item in enumerate(record["inputs"]):
        fields += [(f"inputs[{i}].{k}", str(item.get(k, ""))) for k in ("source", "ref",
                                                                         "excerpt")]
    for path, value in flatten(record["params"], "params"):
        fields.append((path, path))
        if isinstance(value, str):
            fields.append((path, value))
    fields += [(f"chain[{i}]", name) for i, (_, name) in enumerate(ctx["chain"])]
    out = []
    for label, text in fields:
        found = reveal(text)
        if found.flagged:
            out.append((label, found))
    return out


def render_action(request: Request, c: Console, session: WebSession, action_id: str, *,
                  error: SignoffError | None = None, done: str | None = None) -> Response:
    principal = session.principal
    record = queries.get_action(c.ctx, principal, action_id)
    ctx = console.action_context(c.ctx, principal, c.reads, record)
    payload = {k: record[k] for k in ("workflow", "kind", "target", "params")}
    hidden = _scan(record, ctx)
    warnings = mismatches(record["summary"], params=record["params"], target=record["target"])
    return c.page(request, "action.html", session=session, a=record, c=ctx, payload=payload,
                  hidden=hidden, warnings=warnings, error=error, done=done,
                  status=error.status if error else 200)


@router.get("/actions/{action_id}")
def action_page(request: Request, action_id: str, done: Filter = None) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    return render_action(request, c, session, action_id,
                         done=done if done in ("approve", "reject", "cancel") else None)


@router.post("/actions/{action_id}/decide")
async def decide(request: Request, action_id: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    verdict = form.get("verdict", "")
    return await _act_on(request, c, session, action_id, verdict,
                         lambda: reviews.review_action(c.ctx, session.principal, action_id,
                                                       verdict=verdict,
                                                       rationale=form.get("rationale", "")))


@router.post("/actions/{action_id}/cancel")
async def cancel(request: Request, action_id: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    return await _act_on(request, c, session, action_id, "cancel",
                         lambda: actions.cancel_action(c.ctx, session.principal, action_id,
                                                       reason=form.get("reason", "")))


async def _act_on(request: Request, c: Any, session: Any, action_id: str, done: str,
                  use_case: Callable[[], object]) -> Response:
    """Run a use case from the action page: back to the page with the outcome, or the error."""
    try:
        await run_in_threadpool(use_case)
    except SignoffError as exc:
        return await run_in_threadpool(render_action, request, c, session, action_id,
                                       error=exc)
    return RedirectResponse(f"/console/actions/{action_id}?done={done}", status_code=303)


@router.get("/post-review")
def post_review_queue(request: Request, done: Filter = None) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    view = console.post_review_view(c.ctx, session.principal, c.reads)
    return c.page(request, "post_review.html", session=session, view=view,
                  done=done if done in ("ok", "flag") else None, error=None)


@router.post("/actions/{action_id}/post-review")
async def post_review(request: Request, action_id: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    verdict = form.get("verdict", "")
    try:
        await run_in_threadpool(reviews.post_review, c.ctx, session.principal, action_id,
                                verdict=verdict, note=form.get("note", ""))
    except SignoffError as exc:
        view = await run_in_threadpool(console.post_review_view, c.ctx, session.principal,
                                       c.reads)
        return await run_in_threadpool(c.page, request, "post_review.html", session=session,
                                       view=view, done=None, error=exc, status=exc.status)
    return RedirectResponse(f"/console/post-review?done={verdict}", status_code=303)


# --- notifications (flags for owners, escalations for backups) ----------------------------

def _notices(c: Console, session: WebSession) -> dict[str, Any]:
    return notices.notices(c.ctx, session.principal, c.reads, channels=c.signoff.channels)


@router.get("/notifications")
def notifications(request: Request, done: Filter = None) -> Response:
    c = console_of(request)
    session = c.viewer(request)
    view = _notices(c, session)
    return c.page(request, "notifications.html", session=session, view=view,
                  done=done == "ack", error=None)


@router.post("/notifications/ack")
async def acknowledge(request: Request) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    try:
        if form.get("all") == "yes":
            view = await run_in_threadpool(_notices, c, session)
            seqs = [i["seq"] for i in view["rows"] if i["unread"]]
        else:
            raw = form.get("seq", "")
            if not raw.isdigit() or len(raw) > 18:
                raise InvalidRequest("seq must be a notification number", field="seq")
            seqs = [int(raw)]
        await run_in_threadpool(notices.acknowledge, c.ctx, session.principal, c.reads, seqs)
    except SignoffError as exc:
        view = await run_in_threadpool(_notices, c, session)
        return await run_in_threadpool(c.page, request, "notifications.html", session=session,
                                       view=view, done=False, error=exc, status=exc.status)
    return RedirectResponse("/console/notifications?done=ack", status_code=303)
