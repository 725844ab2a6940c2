"""Who may do what. Every refusal is recorded as an audit event before it is raised."""

from __future__ import annotations

from typing import Any

from signoff.domain.identities import Principal, Role, Workflow
from signoff.errors import Forbidden, SignoffError
from signoff.services.context import ServiceContext
from signoff.services.ports import UnitOfWork

__all__ = ["forbid", "is_admin", "may_manage_workflow", "refusal_event", "require_human",
           "require_role"]


def refusal_event(ctx: ServiceContext, principal: Principal, what: str, *,
                  action_id: str | None = None, workflow: str | None = None,
                  code: str = Forbidden.code, event_type: str = "access.denied",
                  **extra: object) -> Any:
    """The audit event of a refusal (``forbid`` records it; a batch records it beside the
    work it keeps)."""
    return ctx.event(event_type, principal, action_id=action_id, workflow=workflow,
                     agent_id=principal.id if principal.is_agent else None,
                     data={"reason": what, "code": code,
                           **{k: v if isinstance(v, int | float | bool) else str(v)
                              for k, v in extra.items()}})


def forbid(ctx: ServiceContext, principal: Principal, what: str, *,
           uow: UnitOfWork | None = None, action_id: str | None = None,
           workflow: str | None = None, error: type[SignoffError] = Forbidden,
           event_type: str = "access.denied", **extra: object) -> SignoffError:
    """Record the refusal and return the error for the caller to raise.

    Pass the caller's open unit of work: its changes are discarded and only the refusal is
    committed (opening a second writer beside an open SQLite write transaction would deadlock).
    """
    event = refusal_event(ctx, principal, what, action_id=action_id, workflow=workflow,
                          code=error.code, event_type=event_type, **extra)
    if uow is not None:
        uow.record_refusal(event)
    else:
        with ctx.uow() as own:
            own.record(event)
            own.commit()
    return error(what, **extra)


def is_admin(principal: Principal) -> bool:
    return principal.has(Role.ADMIN)


def require_human(ctx: ServiceContext, principal: Principal, what: str) -> None:
    if not principal.is_human:
        raise forbid(ctx, principal, f"only humans may {what}")


def require_role(ctx: ServiceContext, principal: Principal, *roles: Role, what: str) -> None:
    if not any(principal.has(r) for r in roles):
        names = " or ".join(r.value for r in roles)
        raise forbid(ctx, principal, f"{what} needs the {names} role")


def may_manage_workflow(principal: Principal, workflow: Workflow) -> bool:
    return is_admin(principal) or (principal.is_human and workflow.owner_id == principal.id)
