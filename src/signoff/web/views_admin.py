"""Administration pages (admins only): workflows and groups, agents and tokens, users.

Every operation is a service call as the signed-in admin, so the same rules and audit events
apply as through the API; the page only reads the form and shows the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from signoff.domain.identities import Principal, Role
from signoff.errors import InvalidRequest, NotFound, SignoffError
from signoff.services import identities, outbox, workflows
from signoff.services.authz import require_role
from signoff.services.elevations import list_elevations
from signoff.web.support import Console, console_of

router = APIRouter(prefix="/console", include_in_schema=False)

_SECTIONS = ("workflows", "agents", "users", "outbox")
Form = dict[str, str]
# An operation returns the notice to show and, for a new token, the token (shown once).
Op = Callable[[Console, Principal, Form], tuple[str, str | None]]


def _csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _roles(f: Form) -> list[str]:
    return [r.value for r in Role if f.get(f"role_{r.value}") == "on"]


def _scopes(f: Form) -> dict[str, list[str]]:
    return {"workflows": _csv(f.get("workflows")), "kinds": _csv(f.get("kinds"))}


def _section(section: str) -> str:
    if section not in _SECTIONS:
        raise NotFound(f"no admin page {section[:100]}")
    return section


# --- operations, by (section, op) ----------------------------------------------------------

def _wf_create(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    workflows.create_workflow(c.ctx, p, name=f.get("name", ""), owner_email=f.get("owner", ""),
                              backups=_csv(f.get("backups")), groups=_csv(f.get("groups")))
    return "Workflow created.", None


def _wf_owner(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    workflows.set_workflow_owner(c.ctx, p, f.get("name", ""), owner_email=f.get("owner", ""))
    return "Owner changed (on record).", None


def _wf_update(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    workflows.update_workflow(c.ctx, p, f.get("name", ""), backups=_csv(f.get("backups")),
                              groups=_csv(f.get("groups")))
    return "Backups and groups saved.", None


def _wf_freeze(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    workflows.freeze_workflow(c.ctx, p, f.get("name", ""), reason=f.get("reason", ""))
    return "Workflow frozen: nothing in it executes, its unredeemed grants are revoked.", None


def _wf_unfreeze(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    workflows.unfreeze_workflow(c.ctx, p, f.get("name", ""))
    return "Workflow unfrozen.", None


def _group_create(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.create_group(c.ctx, p, name=f.get("name", ""), members=_csv(f.get("members")))
    return "Group created.", None


def _group_members(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.set_group_members(c.ctx, p, f.get("name", ""), members=_csv(f.get("members")))
    return "Group members saved (pending actions keep the approvers resolved when they were "\
           "proposed).", None


def _agent_create(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    _, token = identities.create_agent(c.ctx, p, name=f.get("name", ""),
                                       owner_email=f.get("owner", ""), scopes=_scopes(f))
    return "Agent registered. Copy its token now: it is shown once.", token


def _agent_scopes(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.set_agent_scopes(c.ctx, p, f.get("agent_id", ""), scopes=_scopes(f))
    return "Scopes saved (on record).", None


def _agent_token(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    _, token = identities.create_agent_token(c.ctx, p, f.get("agent_id", ""),
                                             name=f.get("name", "") or "console")
    return "New token issued. Copy it now: it is shown once.", token


def _revoke_token(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.revoke_token(c.ctx, p, f.get("token_id", ""))
    return "Token revoked.", None


def _user_create(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.create_user(c.ctx, p, email=f.get("email", ""), name=f.get("name", ""),
                           roles=_roles(f), password=f.get("password") or None)
    return "User created.", None


def _user_active(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.update_user(c.ctx, p, f.get("user_id", ""), active=f.get("active") == "yes")
    return "User updated.", None


def _user_roles(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    identities.update_user(c.ctx, p, f.get("user_id", ""), roles=_roles(f))
    return "Roles saved (on record; they apply from the user's next page).", None


def _user_password(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    password = f.get("password", "")
    if not password:
        raise InvalidRequest("type the new password", field="password")
    user = identities.update_user(c.ctx, p, f.get("user_id", ""), password=password)
    # A reset password must not leave a session opened with the old one alive.
    ended = c.sessions.end_sessions(user.id, by=p)
    return f"Password set; {ended} console session(s) of {user.email} ended.", None


def _outbox_retry(c: Console, p: Principal, f: Form) -> tuple[str, str | None]:
    n = outbox.retry_notification(c.ctx, p, f.get("id", ""))
    return f"Notification {n.id} queued to be sent again (on record).", None


_OPS: dict[tuple[str, str], Op] = {
    ("workflows", "create"): _wf_create, ("workflows", "owner"): _wf_owner,
    ("workflows", "update"): _wf_update, ("workflows", "freeze"): _wf_freeze,
    ("workflows", "unfreeze"): _wf_unfreeze, ("workflows", "group-create"): _group_create,
    ("workflows", "group-members"): _group_members,
    ("agents", "create"): _agent_create, ("agents", "scopes"): _agent_scopes,
    ("agents", "token"): _agent_token, ("agents", "revoke-token"): _revoke_token,
    ("users", "create"): _user_create, ("users", "active"): _user_active,
    ("users", "roles"): _user_roles, ("users", "password"): _user_password,
    ("outbox", "retry"): _outbox_retry,
}


# --- pages ---------------------------------------------------------------------------------

_OUTBOX_STATES = ("failed", "pending", "skipped", "delivered")

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
    elif section == "outbox":
        wanted = request.query_params.get("state") or "failed"
        data["state"] = wanted if wanted in _OUTBOX_STATES else "failed"
        data["states"] = _OUTBOX_STATES
        data["outbox"] = outbox.list_outbox(c.ctx, p, channels=c.signoff.channels,
                                            state=data["state"], limit=200)
        data["channel_names"] = [n.describe() for n in c.signoff.notifiers]
    return c.page(request, f"admin_{section}.html", session=session, section=section,
                  notice=notice, token=token, error=error,
                  status=error.status if error else 200, roles=[r.value for r in Role], **data)


@router.get("/admin/{section}")
def admin(request: Request, section: str) -> Response:
    return _admin_page(request, console_of(request), _section(section))


@router.post("/admin/{section}/{op}")
async def admin_post(request: Request, section: str, op: str) -> Response:
    c = console_of(request)
    session, form = await c.posted(request)
    section = _section(section)   # before the try: its error page is the section's own page
    operation = _OPS.get((section, op))
    if operation is None:
        raise NotFound(f"no admin operation {section}/{op[:100]}")
    try:
        notice, token = await run_in_threadpool(operation, c, session.principal, form)
    except SignoffError as exc:
        return await run_in_threadpool(_admin_page, request, c, section, error=exc)
    return await run_in_threadpool(_admin_page, request, c, section, notice=notice,
                                   token=token)
