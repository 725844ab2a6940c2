"""Resolving approver expressions into the people who may approve, at decision time.

The resolved pools are stored with the action, so a later change to a group or a workflow's
backups never rewrites who was eligible for a past decision.
"""

from __future__ import annotations

from typing import Any

from signoff.domain.approvals import EligibleFactor
from signoff.domain.identities import Workflow
from signoff.domain.policy import QuorumFactor

__all__ = ["resolve_factors"]


def _expr_members(uow: Any, expr: str, workflow: Workflow, agent_owner_id: str) -> set[str]:
    if expr == "owner":
        return {workflow.owner_id}
    if expr == "backup":
        return set(workflow.backups)
    if expr == "agent_owner":
        return {agent_owner_id}
    if expr == "reviewers":
        out: set[str] = set()
        for name in workflow.groups:
            group = uow.groups.get(name)
            if group is not None:
                out |= set(group.members)
        return out
    if expr.startswith("user:"):
        human = uow.humans.by_email(expr[5:])
        return {human.id} if human is not None else set()
    if expr.startswith("group:"):
        group = uow.groups.get(expr[6:])
        return set(group.members) if group is not None else set()
    if expr.startswith("role:"):
        # Everyone holding the role now ("an admin"): unlike a group, nobody has to keep a
        # member list in step with the roles. Inactive people are dropped by the caller.
        role = expr[5:]
        return {h.id for h in uow.humans.list() if role in h.roles}
    return set()  # unknown expressions name nobody: fail closed


def resolve_factors(uow: Any, factors: tuple[QuorumFactor, ...], *, workflow: Workflow,
                    agent_owner_id: str) -> list[EligibleFactor]:
    cache: dict[str, set[str]] = {}
    pools: list[set[str]] = []
    for factor in factors:
        pool: set[str] = set()
        for expr in factor.approvers:
            if expr not in cache:
                cache[expr] = _expr_members(uow, expr, workflow, agent_owner_id)
            pool |= cache[expr]
        pools.append(pool)
    active = uow.humans.active_ids(sorted(set().union(*pools))) if pools else set()
    return [EligibleFactor(label=" | ".join(f.approvers), pool=frozenset(p & active),
                           count=f.count) for f, p in zip(factors, pools, strict=True)]
