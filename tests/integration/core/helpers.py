from __future__ import annotations

from typing import Any

from signoff.domain.actions import Action, ActionRequest, Impact
from signoff.services.actions import submit_action
from signoff.services.queries import get_action


def request(kind: str = "deploy.release", *, workflow: str = "prod-deploys",
            target: str = "svc/api", params: dict[str, Any] | None = None,
            **over: Any) -> ActionRequest:
    return ActionRequest(workflow=workflow, kind=kind, target=target,
                         params=params if params is not None else {"version": "1.2.3"},
                         summary=over.pop("summary", "Release 1.2.3"),
                         impact=over.pop("impact", Impact()), **over)


def propose(world: Any, kind: str = "deploy.release", **over: Any) -> Action:
    action, _ = submit_action(world.ctx, world.agent, request(kind, **over))
    return action


def events(world: Any, action_id: str | None = None) -> list[dict[str, Any]]:
    with world.ctx.uow(readonly=True) as uow:
        return uow.audit.events(action_id=action_id, limit=100_000)


def view(world: Any, who: Any, action_id: str) -> dict[str, Any]:
    return get_action(world.ctx, who, action_id)
