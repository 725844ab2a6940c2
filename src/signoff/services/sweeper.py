"""Time-driven transitions: expire overdue work, escalate slow work, lapse unredeemed grants,
end elevation windows.

Each transition re-reads its action under lock, so several server processes sweeping at once
never double-apply one (the second sees the new status and moves on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signoff.domain.actions import ActionStatus
from signoff.domain.identities import Human, Workflow
from signoff.domain.notifications import NotificationEvent
from signoff.services.context import ServiceContext
from signoff.services.elevations import end_due_elevations
from signoff.services.grants import lapse
from signoff.services.outbox import enqueue
from signoff.services.reviews import expire

__all__ = ["SweepResult", "sweep"]


@dataclass(slots=True)
class SweepResult:
    expired: int = 0
    escalated: int = 0
    lapsed: int = 0
    elevations_ended: int = 0


def _escalation_recipients(uow: Any, workflow: Workflow | None) -> list[Human]:
    """The workflow's active backups; its owner when no backup is active (SPEC: "notify
    backups"; a workflow without any must still tell a person)."""
    if workflow is None:
        return []
    people = uow.humans.many([*workflow.backups, workflow.owner_id])
    backups = [people[b] for b in workflow.backups if b in people and people[b].active]
    owner = people.get(workflow.owner_id)
    return backups or ([owner] if owner is not None and owner.active else [])


def sweep(ctx: ServiceContext) -> SweepResult:
    result = SweepResult()
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        overdue = uow.actions.overdue(now)
        due = uow.actions.due_for_escalation(now)
        lapsed = uow.grants.lapsed(now)
        ending = uow.elevations.due_to_end(now)
    for action_id in overdue:
        with ctx.uow() as uow:
            action = uow.actions.get(action_id, for_update=True)
            if action and action.status is ActionStatus.PENDING and action.expires_at <= now:
                expire(ctx, uow, action)
                uow.commit()
                result.expired += 1
    for action_id in due:
        with ctx.uow() as uow:
            action = uow.actions.get(action_id, for_update=True)
            if action and action.status is ActionStatus.PENDING and action.escalated_at is None:
                told = _escalation_recipients(uow, uow.workflows.get(action.workflow))
                action.escalated_at = now
                uow.actions.save(action)
                uow.record(ctx.event("action.escalated", "system", action_id=action_id,
                                     agent_id=action.agent_id, workflow=action.workflow,
                                     data={"notify": [h.email for h in told]}))
                enqueue(ctx, uow, NotificationEvent.ESCALATED, action, [h.id for h in told],
                        at=now)
                uow.commit()
                result.escalated += 1
    for action_id in lapsed:
        with ctx.uow() as uow:
            action = uow.actions.get(action_id, for_update=True)
            grant = uow.grants.for_action(action_id)
            if action and grant and grant.redeemed_at is None and grant.revoked_at is None \
                    and action.status in (ActionStatus.ALLOWED, ActionStatus.APPROVED):
                lapse(ctx, uow, action, grant)
                uow.commit()
                result.lapsed += 1
    result.elevations_ended = end_due_elevations(ctx, ending)
    return result
