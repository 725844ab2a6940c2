"""Repositories for people and identities: rows in, domain records out, field by field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.base import Repository
from signoff.adapters.db.driver import JoinedSelect, joined_select
from signoff.domain.identities import (
    Agent,
    AgentStatus,
    ApiToken,
    Group,
    Human,
    PrincipalKind,
    Workflow,
)
from signoff.services.ports import ProposalSubjects

__all__ = ["SqlAgentRepository", "SqlGroupRepository", "SqlHumanRepository",
           "SqlTokenRepository", "SqlWorkflowRepository"]


class SqlHumanRepository(Repository):
    def add(self, human: Human) -> None:
        self.conn.execute(t.users.insert(), dict(
            id=human.id, email=human.email, name=human.name, roles=list(human.roles),
            active=human.active, password_hash=human.password_hash, failed_logins=0,
            created_at=human.created_at))

    def get(self, human_id: str) -> Human | None:
        row = self._one(t.users, "id", human_id)
        return _human(row) if row else None

    def by_email(self, email: str) -> Human | None:
        row = self.conn.execute(
            sa.select(t.users).where(sa.func.lower(t.users.c.email) == email.lower())).first()
        return _human(row) if row else None

    def list(self) -> list[Human]:
        return [_human(r) for r in self.conn.execute(sa.select(t.users).order_by(t.users.c.email))]

    def many(self, ids: Sequence[str]) -> dict[str, Human]:
        rows = self.conn.execute(_USERS_BY_IDS, {"ids": sorted(set(ids))})
        return {r.id: _human(r) for r in rows}

    def active_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return set(self.conn.execute(_ACTIVE_USERS, {"ids": list(ids)}).scalars())

    def save(self, human: Human) -> None:
        self.conn.execute(t.users.update().where(t.users.c.id == human.id).values(
            email=human.email, name=human.name, roles=list(human.roles), active=human.active,
            password_hash=human.password_hash))

    def login_state(self, human_id: str) -> tuple[int, datetime | None]:
        row = self.conn.execute(sa.select(t.users.c.failed_logins, t.users.c.locked_until)
                                .where(t.users.c.id == human_id)).first()
        return (row[0], row[1]) if row else (0, None)

    def set_login_state(self, human_id: str, failed: int, locked_until: datetime | None) -> None:
        self.conn.execute(t.users.update().where(t.users.c.id == human_id).values(
            failed_logins=failed, locked_until=locked_until))


_ACTIVE_USERS = sa.select(t.users.c.id).where(t.users.c.id.in_(sa.bindparam("ids", expanding=True)),
                                              t.users.c.active.is_(True))


_USERS_BY_IDS = sa.select(t.users).where(t.users.c.id.in_(sa.bindparam("ids", expanding=True)))


def _human(row: Any) -> Human:
    return Human(id=row.id, email=row.email, name=row.name, roles=list(row.roles),
                 active=row.active, password_hash=row.password_hash, created_at=row.created_at)


class SqlAgentRepository(Repository):
    def add(self, agent: Agent) -> None:
        self.conn.execute(t.agents.insert(), dict(
            id=agent.id, name=agent.name, owner_id=agent.owner_id, scopes=agent.scopes,
            status=agent.status.value, labels=agent.labels, created_at=agent.created_at))

    def get(self, agent_id: str, *, for_update: bool = False) -> Agent | None:
        row = self._one(t.agents, "id", agent_id, for_update)
        return _agent(row) if row else None

    def by_name(self, name: str) -> Agent | None:
        row = self._one(t.agents, "name", name)
        return _agent(row) if row else None

    def proposal_subjects(self, agent_id: str, workflow: str, *, token_id: str | None = None
                          ) -> ProposalSubjects | None:
        """The agent, the workflow it proposes in and both their owners (and, given its id,
        the caller's token), in one statement."""
        found = _subjects(self.conn.dialect).first_parts(
            self.conn, {"agent": agent_id, "workflow": workflow, "token": token_id})
        if found is None:
            return None
        agent, wf, owner, agent_owner, token = found
        return ProposalSubjects(agent=_agent(agent), workflow=_workflow(wf) if wf else None,
                                owner=_human(owner) if owner else None,
                                agent_owner=_human(agent_owner) if agent_owner else None,
                                token=_token(token) if token else None)

    def list(self, *, owner_id: str | None = None) -> list[Agent]:
        stmt = sa.select(t.agents).order_by(t.agents.c.name)
        if owner_id:
            stmt = stmt.where(t.agents.c.owner_id == owner_id)
        return [_agent(r) for r in self.conn.execute(stmt)]

    def save(self, agent: Agent) -> None:
        self.conn.execute(t.agents.update().where(t.agents.c.id == agent.id).values(
            name=agent.name, owner_id=agent.owner_id, scopes=agent.scopes,
            status=agent.status.value, labels=agent.labels))


_WF_OWNER, _AGENT_OWNER = t.users.alias("wf_owner"), t.users.alias("agent_owner")


def _subjects(dialect: sa.Dialect) -> JoinedSelect:
    owner, agent_owner = _WF_OWNER, _AGENT_OWNER
    tok = t.api_tokens

    def build(columns: list[Any]) -> Any:
        joined = t.agents.outerjoin(t.workflows, t.workflows.c.name == sa.bindparam("workflow")) \
            .outerjoin(owner, owner.c.id == t.workflows.c.owner_id) \
            .outerjoin(agent_owner, agent_owner.c.id == t.agents.c.owner_id) \
            .outerjoin(tok, tok.c.id == sa.bindparam("token"))  # NULL: no row, no cost
        return sa.select(*columns).select_from(joined).where(
            t.agents.c.id == sa.bindparam("agent"))

    return joined_select("proposal_subjects", dialect, build,
                         [t.agents, t.workflows, owner, agent_owner, tok],
                         {"agent": t.agents.c.id.type, "workflow": t.workflows.c.name.type,
                          "token": tok.c.id.type})


def _agent(row: Any) -> Agent:
    return Agent(id=row.id, name=row.name, owner_id=row.owner_id, scopes=dict(row.scopes),
                 status=AgentStatus(row.status), labels=dict(row.labels),
                 created_at=row.created_at)


class SqlWorkflowRepository(Repository):
    def add(self, wf: Workflow) -> None:
        self.conn.execute(t.workflows.insert(), dict(
            id=wf.id, name=wf.name, owner_id=wf.owner_id, backups=wf.backups, groups=wf.groups,
            labels=wf.labels, frozen=wf.frozen, frozen_reason=wf.frozen_reason,
            created_at=wf.created_at))

    def get(self, name: str, *, for_update: bool = False) -> Workflow | None:
        row = self._one(t.workflows, "name", name, for_update)
        return _workflow(row) if row else None

    def list(self) -> list[Workflow]:
        return [_workflow(r) for r in
                self.conn.execute(sa.select(t.workflows).order_by(t.workflows.c.name))]

    def owned_by(self, human_id: str) -> list[Workflow]:
        return [_workflow(r) for r in self.conn.execute(
            sa.select(t.workflows).where(t.workflows.c.owner_id == human_id))]

    def save(self, wf: Workflow) -> None:
        self.conn.execute(t.workflows.update().where(t.workflows.c.id == wf.id).values(
            owner_id=wf.owner_id, backups=wf.backups, groups=wf.groups, labels=wf.labels,
            frozen=wf.frozen, frozen_reason=wf.frozen_reason))


def _workflow(row: Any) -> Workflow:
    return Workflow(id=row.id, name=row.name, owner_id=row.owner_id, backups=list(row.backups),
                    groups=list(row.groups), labels=dict(row.labels), frozen=row.frozen,
                    frozen_reason=row.frozen_reason, created_at=row.created_at)


class SqlGroupRepository(Repository):
    def add(self, group: Group) -> None:
        self.conn.execute(t.groups.insert(), dict(id=group.id, name=group.name,
                                                   members=group.members))

    def get(self, name: str) -> Group | None:
        row = self._one(t.groups, "name", name)
        return Group(id=row.id, name=row.name, members=list(row.members)) if row else None

    def list(self) -> list[Group]:
        return [Group(id=r.id, name=r.name, members=list(r.members))
                for r in self.conn.execute(sa.select(t.groups).order_by(t.groups.c.name))]

    def save(self, group: Group) -> None:
        self.conn.execute(t.groups.update().where(t.groups.c.id == group.id).values(
            members=group.members))


class SqlTokenRepository(Repository):
    def add(self, token: ApiToken) -> None:
        self.conn.execute(t.api_tokens.insert(), dict(
            id=token.id, subject_kind=token.subject_kind.value, subject_id=token.subject_id,
            name=token.name, token_hash=token.token_hash, created_at=token.created_at))

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._one(t.api_tokens, "token_hash", token_hash)
        return _token(row) if row else None

    def get(self, token_id: str) -> ApiToken | None:
        row = self._one(t.api_tokens, "id", token_id)
        return _token(row) if row else None

    def with_subject(self, token_hash: str
                     ) -> tuple[ApiToken, Agent | None, Human | None] | None:
        """A token with the agent or human behind it, in one statement (every request)."""
        found = _token_subject(self.conn.dialect).first_parts(self.conn, {"key": token_hash})
        if found is None:
            return None
        token, agent, human = found
        return _token(token), _agent(agent) if agent else None, _human(human) if human else None

    def for_subject(self, subject_id: str) -> list[ApiToken]:
        return [_token(r) for r in self.conn.execute(
            sa.select(t.api_tokens).where(t.api_tokens.c.subject_id == subject_id)
            .order_by(t.api_tokens.c.created_at))]

    def revoke(self, token_id: str, at: datetime) -> None:
        self.conn.execute(t.api_tokens.update().where(t.api_tokens.c.id == token_id)
                          .values(revoked_at=at))

    def touch(self, token_id: str, at: datetime) -> None:
        self._update(t.api_tokens, "id", token_id, last_used_at=at)


def _token_subject(dialect: sa.Dialect) -> JoinedSelect:
    tok = t.api_tokens

    def build(columns: list[Any]) -> Any:
        def kind_is(kind: PrincipalKind) -> Any:  # a constant in the SQL, not a parameter
            return tok.c.subject_kind == sa.literal_column(f"'{kind.value}'")

        joined = tok.outerjoin(t.agents, sa.and_(kind_is(PrincipalKind.AGENT),
                                                 t.agents.c.id == tok.c.subject_id)) \
            .outerjoin(t.users, sa.and_(kind_is(PrincipalKind.HUMAN),
                                        t.users.c.id == tok.c.subject_id))
        return sa.select(*columns).select_from(joined).where(
            tok.c.token_hash == sa.bindparam("key"))

    return joined_select("token_subject", dialect, build, [tok, t.agents, t.users],
                         {"key": tok.c.token_hash.type})


def _token(row: Any) -> ApiToken:
    return ApiToken(id=row.id, subject_kind=PrincipalKind(row.subject_kind),
                    subject_id=row.subject_id, name=row.name, token_hash=row.token_hash,
                    created_at=row.created_at, last_used_at=row.last_used_at,
                    revoked_at=row.revoked_at)
