"""/v1/users, /v1/agents, /v1/tokens and /v1/groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from signoff.api.deps import app_of, principal_of
from signoff.api.schemas import (
    AgentCreate,
    GroupCreate,
    GroupMembers,
    ReasonBody,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from signoff.domain.identities import Agent, Principal
from signoff.services import identities, stopping

router = APIRouter(tags=["identities"])
Caller = Annotated[Principal, Depends(principal_of)]


def _agent(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "owner_id": agent.owner_id,
            "scopes": agent.scopes, "status": agent.status.value, "labels": agent.labels}


@router.post("/v1/users", status_code=201)
def create_user(body: UserCreate, request: Request, principal: Caller) -> dict[str, Any]:
    human = identities.create_user(app_of(request).ctx, principal, email=body.email,
                                   name=body.name, roles=body.roles, password=body.password)
    return human.public()


@router.get("/v1/users")
def list_users(request: Request, principal: Caller) -> dict[str, Any]:
    return {"items": [h.public() for h in identities.list_users(app_of(request).ctx, principal)]}


@router.patch("/v1/users/{user_id}")
def update_user(user_id: str, body: UserUpdate, request: Request, principal: Caller
                ) -> dict[str, Any]:
    human = identities.update_user(app_of(request).ctx, principal, user_id, roles=body.roles,
                                   active=body.active, password=body.password, name=body.name)
    return human.public()


@router.post("/v1/users/{user_id}/tokens", status_code=201)
def create_user_token(user_id: str, body: TokenCreate, request: Request, principal: Caller
                      ) -> dict[str, Any]:
    token_id, token = identities.create_user_token(app_of(request).ctx, principal, user_id,
                                                   name=body.name)
    return {"id": token_id, "token": token}


@router.get("/v1/tokens")
def list_tokens(request: Request, principal: Caller, subject: str) -> dict[str, Any]:
    items = identities.list_tokens(app_of(request).ctx, principal, subject)
    return {"items": [{"id": t.id, "name": t.name, "subject_kind": t.subject_kind.value,
                       "subject_id": t.subject_id, "created_at": t.created_at,
                       "last_used_at": t.last_used_at, "revoked_at": t.revoked_at}
                      for t in items]}


@router.delete("/v1/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, request: Request, principal: Caller) -> Response:
    identities.revoke_token(app_of(request).ctx, principal, token_id)
    return Response(status_code=204)


@router.post("/v1/agents", status_code=201)
def create_agent(body: AgentCreate, request: Request, principal: Caller) -> dict[str, Any]:
    agent, token = identities.create_agent(app_of(request).ctx, principal, name=body.name,
                                           owner_email=body.owner, scopes=body.scopes,
                                           labels=body.labels)
    return {**_agent(agent), "token": token}


@router.get("/v1/agents")
def list_agents(request: Request, principal: Caller) -> dict[str, Any]:
    return {"items": [_agent(a) for a in identities.list_agents(app_of(request).ctx, principal)]}


@router.post("/v1/agents/{agent_id}/tokens", status_code=201)
def create_agent_token(agent_id: str, body: TokenCreate, request: Request, principal: Caller
                       ) -> dict[str, Any]:
    token_id, token = identities.create_agent_token(app_of(request).ctx, principal, agent_id,
                                                    name=body.name)
    return {"id": token_id, "token": token}


@router.post("/v1/agents/{agent_id}/suspend")
def suspend_agent(agent_id: str, request: Request, principal: Caller,
                  body: ReasonBody | None = None) -> dict[str, Any]:
    return stopping.suspend_agent(app_of(request).ctx, principal, agent_id,
                                  reason=body.reason if body else "")


@router.post("/v1/agents/{agent_id}/resume")
def resume_agent(agent_id: str, request: Request, principal: Caller) -> dict[str, Any]:
    stopping.resume_agent(app_of(request).ctx, principal, agent_id)
    return {"agent_id": agent_id, "status": "active"}


@router.post("/v1/groups", status_code=201)
def create_group(body: GroupCreate, request: Request, principal: Caller) -> dict[str, Any]:
    group = identities.create_group(app_of(request).ctx, principal, name=body.name,
                                    members=body.members)
    return {"id": group.id, "name": group.name, "members": group.members}


@router.get("/v1/groups")
def list_groups(request: Request, principal: Caller) -> dict[str, Any]:
    return {"items": [{"id": g.id, "name": g.name, "members": g.members}
                      for g in identities.list_groups(app_of(request).ctx, principal)]}


@router.put("/v1/groups/{name}/members")
def set_members(name: str, body: GroupMembers, request: Request, principal: Caller
                ) -> dict[str, Any]:
    group = identities.set_group_members(app_of(request).ctx, principal, name,
                                         members=body.members)
    return {"id": group.id, "name": group.name, "members": group.members}
