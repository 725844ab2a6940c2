"""Workflows: one accountable human owner each, changes audited; freeze and unfreeze."""

from __future__ import annotations

from typing import Any

from signoff.domain.identities import Principal, Role, Workflow
from signoff.errors import Conflict, InvalidRequest, NotFound
from signoff.services.authz import forbid, may_manage_workflow, require_role
from signoff.services.context import ServiceContext, new_id
from signoff.services.stopping import revoke_unredeemed

__all__ = ["create_workflow", "freeze_workflow", "get_workflow", "list_workflows",
           "set_workflow_owner", "unfreeze_workflow", "update_workflow"]


def _active_human(uow: Any, email: str, field: str) -> Any:
    human = uow.humans.by_email(email)
    if human is None or not human.active:
        raise InvalidRequest(f"{email} is not an active user", field=field)
    return human


def create_workflow(ctx: ServiceContext, principal: Principal, *, name: str, owner_email: str,
                    backups: list[str] | None = None, groups: list[str] | None = None,
                    labels: dict[str, str] | None = None) -> Workflow:
    require_role(ctx, principal, Role.ADMIN, what="creating workflows")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidRequest("name must be 1-200 characters", field="name")
    with ctx.uow() as uow:
        if uow.workflows.get(name) is not None:
            raise Conflict(f"a workflow named {name} exists", field="name")
        owner = _active_human(uow, owner_email, "owner")
        backup_ids = [_active_human(uow, e, "backups").id for e in backups or []]
        for g in groups or []:
            if uow.groups.get(g) is None:
                raise InvalidRequest(f"no group {g}", field="groups")
        wf = Workflow(id=new_id("wf"), name=name, owner_id=owner.id, backups=backup_ids,
                      groups=list(groups or []), labels=dict(labels or {}), created_at=ctx.now())
        uow.workflows.add(wf)
        uow.record(ctx.event("workflow.created", principal, workflow=name,
                             data={"workflow": name, "owner": owner.email,
                                   "backups": list(backups or []), "groups": wf.groups}))
        uow.commit()
    return wf


def get_workflow(ctx: ServiceContext, principal: Principal, name: str) -> Workflow:
    with ctx.uow(readonly=True) as uow:
        wf = uow.workflows.get(name)
    if wf is None:
        raise NotFound(f"no workflow {name}")
    return wf


def list_workflows(ctx: ServiceContext, principal: Principal) -> list[Workflow]:
    with ctx.uow(readonly=True) as uow:
        return uow.workflows.list()


def _load_managed(ctx: ServiceContext, uow: Any, principal: Principal, name: str) -> Workflow:
    wf = uow.workflows.get(name, for_update=True)
    if wf is None:
        raise NotFound(f"no workflow {name}")
    if not may_manage_workflow(principal, wf):
        raise forbid(ctx, principal, f"only an admin or the owner may change workflow {name}",
                     uow=uow, workflow=name)
    return wf  # type: ignore[no-any-return]


def set_workflow_owner(ctx: ServiceContext, principal: Principal, name: str, *,
                       owner_email: str) -> Workflow:
    """Hand accountability to another active human; the old and new owner are on record."""
    with ctx.uow() as uow:
        wf = _load_managed(ctx, uow, principal, name)
        new_owner = _active_human(uow, owner_email, "owner")
        old = uow.humans.get(wf.owner_id)
        wf.owner_id = new_owner.id
        uow.workflows.save(wf)
        uow.record(ctx.event("workflow.owner_changed", principal, workflow=name,
                             data={"workflow": name, "from": old.email if old else None,
                                   "to": new_owner.email}))
        uow.commit()
    return wf


def update_workflow(ctx: ServiceContext, principal: Principal, name: str, *,
                    backups: list[str] | None = None, groups: list[str] | None = None,
                    labels: dict[str, str] | None = None) -> Workflow:
    with ctx.uow() as uow:
        wf = _load_managed(ctx, uow, principal, name)
        changes: dict[str, Any] = {}
        if backups is not None:
            wf.backups = [_active_human(uow, e, "backups").id for e in backups]
            changes["backups"] = backups
        if groups is not None:
            for g in groups:
                if uow.groups.get(g) is None:
                    raise InvalidRequest(f"no group {g}", field="groups")
            wf.groups = list(groups)
            changes["groups"] = groups
        if labels is not None:
            wf.labels = dict(labels)
            changes["labels"] = labels
        uow.workflows.save(wf)
        uow.record(ctx.event("workflow.updated", principal, workflow=name,
                             data={"workflow": name, **changes}))
        uow.commit()
    return wf


def freeze_workflow(ctx: ServiceContext, principal: Principal, name: str, *,
                    reason: str) -> Workflow:
    """Nothing in the workflow executes until unfrozen; unredeemed grants are revoked now."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("say why the workflow is frozen", field="reason")
    with ctx.uow() as uow:
        wf = _load_managed(ctx, uow, principal, name)
        wf.frozen, wf.frozen_reason = True, reason
        uow.workflows.save(wf)
        revoked = revoke_unredeemed(ctx, uow, principal, workflow=name,
                                    reason=f"workflow frozen: {reason}")
        uow.record(ctx.event("workflow.frozen", principal, workflow=name,
                             data={"workflow": name, "reason": reason,
                                   "grants_revoked": revoked}))
        uow.commit()
    return wf


def unfreeze_workflow(ctx: ServiceContext, principal: Principal, name: str) -> Workflow:
    with ctx.uow() as uow:
        wf = _load_managed(ctx, uow, principal, name)
        wf.frozen, wf.frozen_reason = False, ""
        uow.workflows.save(wf)
        uow.record(ctx.event("workflow.unfrozen", principal, workflow=name,
                             data={"workflow": name}))
        uow.commit()
    return wf
