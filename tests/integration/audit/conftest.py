"""Helpers for the audit tests: a populated chain and raw SQL tampering."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from signoff.adapters.db.audit_store import audit_deps
from signoff.domain.actions import ActionRequest, Impact
from signoff.services import audit as audit_service
from signoff.services.actions import submit_action
from signoff.services.queries import get_action
from signoff.services.reviews import review_action

ADMIN_ROLES = frozenset({"admin", "auditor"})


def deps(world: Any) -> Any:
    return audit_deps(world.ctx, world.app.settings)


def propose(world: Any, kind: str = "deploy.release", **over: Any) -> Any:
    req = ActionRequest(workflow="prod-deploys", kind=kind, target=over.pop("target", "svc/api"),
                        params=over.pop("params", {"version": "1.2.3"}),
                        summary=over.pop("summary", "Release 1.2.3"),
                        impact=over.pop("impact", Impact()), **over)
    action, _ = submit_action(world.ctx, world.agent, req)
    return action


def approve(world: Any, action_id: str, who: Any, *, wait: float = 60) -> None:
    get_action(world.ctx, who, action_id)
    world.app.ctx.clock.advance(wait)
    review_action(world.ctx, who, action_id, verdict="approve",
                  rationale="Checked the release notes and the diff.")


def sql(world: Any, statement: str, **params: Any) -> None:
    with world.app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(sa.text(statement), params)


def verify(world: Any, **kw: Any) -> dict[str, Any]:
    return audit_service.verify(deps(world), world.auditor, **kw)


@pytest.fixture
def chain(world: Any) -> Any:
    """A world with about 30 sealed events of varied kinds."""
    for i in range(6):
        propose(world, "draft.note", target=f"doc/{i}")
    action = propose(world, "deploy.release")
    approve(world, action.id, world.rita)
    return world
