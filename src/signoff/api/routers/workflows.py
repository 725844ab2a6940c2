"""/v1/workflows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from signoff.api.deps import app_of, principal_of
from signoff.api.schemas import OwnerChange, ReasonBody, WorkflowCreate, WorkflowUpdate
from signoff.domain.identities import Principal, Workflow
from signoff.services import workflows

router = APIRouter(tags=["workflows"])
Caller = Annotated[Principal, Depends(principal_of)]


def _workflow(wf: Workflow) -> dict[str, Any]:
    return {"id": wf.id, "name": wf.name, "owner": wf.owner_id, "backups": wf.backups,
            "groups": wf.groups, "labels": wf.labels, "frozen": wf.frozen,
            "frozen_reason": wf.frozen_reason}


@router.post("/v1/workflows", status_code=201)
def create(body: WorkflowCreate, request: Request, principal: Caller) -> dict[str, Any]:
    return _workflow(workflows.create_workflow(
        app_of(request).ctx, principal, name=body.name, owner_email=body.owner,
        backups=body.backups, groups=body.groups, labels=body.labels))


@router.get("/v1/workflows")
def list_all(request: Request, principal: Caller) -> dict[str, Any]:
    return {"items": [_workflow(w) for w in workflows.list_workflows(app_of(request).ctx,
                                                                      principal)]}


@router.get("/v1/workflows/{name}")
def get(name: str, request: Request, principal: Caller) -> dict[str, Any]:
    return _workflow(workflows.get_workflow(app_of(request).ctx, principal, name))


@router.patch("/v1/workflows/{name}")
def update(name: str, body: WorkflowUpdate, request: Request, principal: Caller
           ) -> dict[str, Any]:
    return _workflow(workflows.update_workflow(app_of(request).ctx, principal, name,
                                               backups=body.backups, groups=body.groups,
                                               labels=body.labels))


@router.put("/v1/workflows/{name}/owner")
def set_owner(name: str, body: OwnerChange, request: Request, principal: Caller
              ) -> dict[str, Any]:
    return _workflow(workflows.set_workflow_owner(app_of(request).ctx, principal, name,
                                                  owner_email=body.owner))


@router.post("/v1/workflows/{name}/freeze")
def freeze(name: str, body: ReasonBody, request: Request, principal: Caller) -> dict[str, Any]:
    return _workflow(workflows.freeze_workflow(app_of(request).ctx, principal, name,
                                               reason=body.reason))


@router.post("/v1/workflows/{name}/unfreeze")
def unfreeze(name: str, request: Request, principal: Caller) -> dict[str, Any]:
    return _workflow(workflows.unfreeze_workflow(app_of(request).ctx, principal, name))
