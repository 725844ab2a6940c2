"""Humans, agents, workflows and groups, and who is asking (the principal)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Agent",
    "AgentStatus",
    "ApiToken",
    "Group",
    "Human",
    "Principal",
    "PrincipalKind",
    "Role",
    "Workflow",
    "TOKEN_PREFIXES",
]


class Role(StrEnum):
    ADMIN = "admin"
    OWNER = "owner"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class AgentStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class PrincipalKind(StrEnum):
    HUMAN = "human"
    AGENT = "agent"
    SYSTEM = "system"


TOKEN_PREFIXES = {PrincipalKind.AGENT: "so_agent_", PrincipalKind.HUMAN: "so_user_"}


@dataclass(slots=True)
class Human:
    id: str
    email: str
    name: str
    roles: list[str]
    active: bool = True
    password_hash: str | None = None
    created_at: datetime | None = None

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name, "roles": list(self.roles),
                "active": self.active}


@dataclass(slots=True)
class Agent:
    id: str
    name: str
    owner_id: str
    scopes: dict[str, list[str]]
    status: AgentStatus = AgentStatus.ACTIVE
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None

    def may_propose(self, workflow: str, kind: str) -> bool:
        workflows = self.scopes.get("workflows", [])
        kinds = self.scopes.get("kinds", [])
        wf_ok = "*" in workflows or workflow in workflows
        kind_ok = any(fnmatch.fnmatchcase(kind, pattern) for pattern in kinds)
        return wf_ok and kind_ok


@dataclass(slots=True)
class Workflow:
    id: str
    name: str
    owner_id: str
    backups: list[str] = field(default_factory=list)     # user ids
    groups: list[str] = field(default_factory=list)      # reviewer group names
    labels: dict[str, str] = field(default_factory=dict)
    frozen: bool = False
    frozen_reason: str = ""
    created_at: datetime | None = None


@dataclass(slots=True)
class Group:
    id: str
    name: str
    members: list[str] = field(default_factory=list)    # user ids


@dataclass(slots=True)
class ApiToken:
    id: str
    subject_kind: PrincipalKind
    subject_id: str
    name: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a human (with roles), an agent, or signoff itself."""

    kind: PrincipalKind
    id: str
    roles: frozenset[str] = frozenset()
    name: str = ""
    auth_method: str = "token"
    # Set only on an agent served from a process's token cache (the proposal path): the unit
    # of work that acts for it confirms, in its own first read, that this token still stands.
    unconfirmed_token_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind.value}:{self.id}" if self.kind is not PrincipalKind.SYSTEM else "system"

    @property
    def is_human(self) -> bool:
        return self.kind is PrincipalKind.HUMAN

    @property
    def is_agent(self) -> bool:
        return self.kind is PrincipalKind.AGENT

    def has(self, role: Role) -> bool:
        # Agents never hold roles; signoff itself may (the local operator's CLI acts as admin).
        return not self.is_agent and role.value in self.roles

    @classmethod
    def system(cls, name: str = "signoff", *, roles: frozenset[str] = frozenset()) -> Principal:
        return cls(kind=PrincipalKind.SYSTEM, id=name, name=name, roles=roles,
                   auth_method="local")
