"""Time-driven transitions: expire overdue work, escalate slow work, lapse unredeemed grants,
end elevation windows.

Each transition re-reads its action under lock, so several server processes sweeping at once
never double-apply one (the second sees the new status and moves on).
"""

from __future__ import annotations

from dataclasses import dataclass

from signoff.domain.actions import ActionStatus
from signoff.services.context import ServiceContext
from signoff.services.elevations import end_due_elevations
from signoff.services.grants import lapse
from signoff.services.reviews import expire

__all__ = ["SweepResult", "sweep"]


@dataclass(slots=True)
class SweepResult:
    expired: int = 0
    escalated: int = 0
    lapsed: int = 0
    elevations_ended: int = 0


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
                workflow = uow.workflows.get(action.workflow)
                notify = []
                for user_id in (workflow.backups if workflow else []):
                    human = uow.humans.get(user_id)
                    if human is not None and human.active:
                        notify.append(human.email)
                action.escalated_at = now
                uow.actions.save(action)
                uow.record(ctx.event("action.escalated", "system", action_id=action_id,
                                     agent_id=action.agent_id, workflow=action.workflow,
                                     data={"notify": notify}))
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
