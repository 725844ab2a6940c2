"""Use cases for humans, agents, groups and tokens."""

from __future__ import annotations

from typing import Any

from signoff.domain.identities import (
    Agent,
    AgentStatus,
    Group,
    Human,
    Principal,
    PrincipalKind,
    Role,
)
from signoff.errors import Conflict, InvalidRequest, NotFound
from signoff.services.authz import forbid, is_admin, require_role
from signoff.services.context import ServiceContext, new_id
from signoff.services.tokens import issue_token

__all__ = [
    "create_agent",
    "create_group",
    "create_user",
    "create_user_token",
    "create_agent_token",
    "list_agents",
    "list_groups",
    "list_tokens",
    "list_users",
    "revoke_token",
    "set_agent_scopes",
    "set_group_members",
    "update_user",
]

_ROLES = {r.value for r in Role}


def _check_roles(roles: list[str]) -> list[str]:
    bad = sorted(set(roles) - _ROLES)
    if bad:
        raise InvalidRequest(f"unknown role(s) {', '.join(bad)}; use {', '.join(sorted(_ROLES))}",
                             field="roles")
    return sorted(set(roles))


def _check_scopes(scopes: dict[str, Any]) -> dict[str, list[str]]:
    workflows = scopes.get("workflows")
    kinds = scopes.get("kinds")
    if not isinstance(workflows, list) or not all(isinstance(w, str) and w for w in workflows):
        raise InvalidRequest("scopes.workflows must be a list of workflow names or [\"*\"]",
                             field="scopes.workflows")
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
        raise InvalidRequest("scopes.kinds must be a list of kind globs such as \"deploy.*\"",
                             field="scopes.kinds")
    return {"workflows": list(workflows), "kinds": list(kinds)}


def create_user(ctx: ServiceContext, principal: Principal | None, *, email: str, name: str,
                roles: list[str], password: str | None = None) -> Human:
    """Create a human. ``principal`` None is the bootstrap path (``signoff init``)."""
    if principal is not None:
        require_role(ctx, principal, Role.ADMIN, what="creating users")
    roles = _check_roles(roles)
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise InvalidRequest("email must be an address such as ada@example.com", field="email")
    hashed = ctx.password_hasher.hash(password) if password else None
    with ctx.uow() as uow:
        if uow.humans.by_email(email) is not None:
            raise Conflict(f"a user with email {email} exists", field="email")
        human = Human(id=new_id("usr"), email=email, name=name.strip() or email, roles=roles,
                      active=True, password_hash=hashed, created_at=ctx.now())
        uow.humans.add(human)
        uow.record(ctx.event("user.created", principal.actor if principal else "system",
                             data={"user_id": human.id, "email": email, "roles": roles}))
        uow.commit()
    return human


def update_user(ctx: ServiceContext, principal: Principal, user_id: str, *,
                roles: list[str] | None = None, active: bool | None = None,
                password: str | None = None, name: str | None = None) -> Human:
    require_role(ctx, principal, Role.ADMIN, what="changing users")
    with ctx.uow() as uow:
        human = uow.humans.get(user_id)
        if human is None:
            raise NotFound(f"no user {user_id}")
        changes: dict[str, Any] = {}
        if roles is not None:
            human.roles = _check_roles(roles)
            changes["roles"] = human.roles
        if active is not None:
            human.active = active
            changes["active"] = active
        if name is not None:
            human.name = name
        if password:
            human.password_hash = ctx.password_hasher.hash(password)
            changes["password"] = "changed"
        uow.humans.save(human)
        uow.record(ctx.event("user.updated", principal, data={"user_id": user_id, **changes}))
        uow.commit()
    return human


def list_users(ctx: ServiceContext, principal: Principal) -> list[Human]:
    if not principal.is_human:
        raise forbid(ctx, principal, "agents may not list users")
    with ctx.uow(readonly=True) as uow:
        return uow.humans.list()


def create_user_token(ctx: ServiceContext, principal: Principal, user_id: str, *, name: str
                      ) -> tuple[str, str]:
    if not (is_admin(principal) or (principal.is_human and principal.id == user_id)):
        raise forbid(ctx, principal, "only admins or the user may create a user's tokens")
    with ctx.uow() as uow:
        if uow.humans.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        record, plain = issue_token(ctx, uow, kind=PrincipalKind.HUMAN, subject_id=user_id,
                                    name=name)
        uow.record(ctx.event("token.created", principal,
                             data={"token_id": record.id, "subject": f"human:{user_id}",
                                   "name": name}))
        uow.commit()
    return record.id, plain


def create_agent(ctx: ServiceContext, principal: Principal, *, name: str, owner_email: str,
                 scopes: dict[str, Any], labels: dict[str, str] | None = None
                 ) -> tuple[Agent, str]:
    require_role(ctx, principal, Role.ADMIN, what="registering agents")
    clean_scopes = _check_scopes(scopes)
    with ctx.uow() as uow:
        owner = uow.humans.by_email(owner_email)
        if owner is None or not owner.active:
            raise InvalidRequest(f"owner {owner_email} is not an active user", field="owner")
        if uow.agents.by_name(name) is not None:
            raise Conflict(f"an agent named {name} exists", field="name")
        agent = Agent(id=new_id("agt"), name=name, owner_id=owner.id, scopes=clean_scopes,
                      status=AgentStatus.ACTIVE, labels=dict(labels or {}), created_at=ctx.now())
        uow.agents.add(agent)
        record, plain = issue_token(ctx, uow, kind=PrincipalKind.AGENT, subject_id=agent.id,
                                    name="initial")
        uow.record(ctx.event("agent.created", principal, agent_id=agent.id,
                             data={"agent_id": agent.id, "name": name, "owner": owner.email,
                                   "scopes": clean_scopes, "token_id": record.id}))
        uow.commit()
    return agent, plain


def create_agent_token(ctx: ServiceContext, principal: Principal, agent_id: str, *, name: str
                       ) -> tuple[str, str]:
    with ctx.uow() as uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if not (is_admin(principal) or (principal.is_human and agent.owner_id == principal.id)):
            raise forbid(ctx, principal, "only admins or the agent's owner may issue its tokens",
                         uow=uow)
        record, plain = issue_token(ctx, uow, kind=PrincipalKind.AGENT, subject_id=agent_id,
                                    name=name)
        uow.record(ctx.event("token.created", principal, agent_id=agent_id,
                             data={"token_id": record.id, "subject": f"agent:{agent_id}",
                                   "name": name}))
        uow.commit()
    return record.id, plain


def list_tokens(ctx: ServiceContext, principal: Principal, subject_id: str) -> list[Any]:
    if not (is_admin(principal) or principal.has(Role.AUDITOR) or principal.id == subject_id):
        raise forbid(ctx, principal, "you may not list these tokens")
    with ctx.uow(readonly=True) as uow:
        return uow.tokens.for_subject(subject_id)


def revoke_token(ctx: ServiceContext, principal: Principal, token_id: str) -> None:
    with ctx.uow() as uow:
        record = uow.tokens.get(token_id)
        if record is None:
            raise NotFound(f"no token {token_id}")
        allowed = is_admin(principal) or principal.id == record.subject_id
        if not allowed and record.subject_kind is PrincipalKind.AGENT and principal.is_human:
            agent = uow.agents.get(record.subject_id)
            allowed = agent is not None and agent.owner_id == principal.id
        if not allowed:
            raise forbid(ctx, principal, "you may not revoke this token", uow=uow)
        if record.revoked_at is None:
            uow.tokens.revoke(token_id, ctx.now())
            uow.record(ctx.event("token.revoked", principal,
                                 data={"token_id": token_id,
                                       "subject": f"{record.subject_kind.value}:"
                                                  f"{record.subject_id}"}))
            uow.commit()


def set_agent_scopes(ctx: ServiceContext, principal: Principal, agent_id: str, *,
                     scopes: dict[str, Any]) -> Agent:
    """Change which workflows and kinds an agent may propose in (admins; on record, with the
    scopes before and after). Takes effect on its next proposal."""
    require_role(ctx, principal, Role.ADMIN, what="changing agent scopes")
    clean = _check_scopes(scopes)
    with ctx.uow() as uow:
        agent = uow.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        before, agent.scopes = agent.scopes, clean
        uow.agents.save(agent)
        uow.record(ctx.event("agent.scopes_changed", principal, agent_id=agent_id,
                             data={"agent_id": agent_id, "before": before, "after": clean}))
        uow.commit()
    return agent


def list_agents(ctx: ServiceContext, principal: Principal) -> list[Agent]:
    with ctx.uow(readonly=True) as uow:
        if principal.is_agent:
            own = uow.agents.get(principal.id)
            return [own] if own else []
        return uow.agents.list()


def create_group(ctx: ServiceContext, principal: Principal, *, name: str,
                 members: list[str]) -> Group:
    require_role(ctx, principal, Role.ADMIN, what="creating groups")
    with ctx.uow() as uow:
        if uow.groups.get(name) is not None:
            raise Conflict(f"a group named {name} exists", field="name")
        ids = _member_ids(uow, members)
        group = Group(id=new_id("grp"), name=name, members=ids)
        uow.groups.add(group)
        uow.record(ctx.event("group.created", principal,
                             data={"group": name, "members": sorted(members)}))
        uow.commit()
    return group


def set_group_members(ctx: ServiceContext, principal: Principal, name: str, *,
                      members: list[str]) -> Group:
    require_role(ctx, principal, Role.ADMIN, what="changing groups")
    with ctx.uow() as uow:
        group = uow.groups.get(name)
        if group is None:
            raise NotFound(f"no group {name}")
        group.members = _member_ids(uow, members)
        uow.groups.save(group)
        uow.record(ctx.event("group.members_changed", principal,
                             data={"group": name, "members": sorted(members)}))
        uow.commit()
    return group


def list_groups(ctx: ServiceContext, principal: Principal) -> list[Group]:
    if not principal.is_human:
        raise forbid(ctx, principal, "agents may not list groups")
    with ctx.uow(readonly=True) as uow:
        return uow.groups.list()


def _member_ids(uow: Any, emails: list[str]) -> list[str]:
    ids = []
    for email in emails:
        human = uow.humans.by_email(email)
        if human is None:
            raise InvalidRequest(f"no user {email}", field="members")
        ids.append(human.id)
    return sorted(set(ids))
