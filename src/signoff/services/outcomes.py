"""Outcomes: what happened when a redeemed action ran, one report or a batch of them.

The SDK reports outcomes from a background sender after the gated function returned. One
request and one transaction per outcome made that sender compete with the agent's next
proposal for the same CPU, the same database round trips and the audit chain's head; a batch
(``report_outcomes``) takes one authentication, one transaction and one commit for all of its
reports. Each report in a batch stands alone: one that is refused (unknown action, not the
agent's, not executing) is answered with its problem and changes nothing, and the others
commit. Actions are locked in id order, so two batches never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signoff.domain.actions import Action, ActionStatus
from signoff.domain.grants import Grant
from signoff.domain.identities import Principal, Role
from signoff.errors import Conflict, Forbidden, InvalidRequest, NotFound, SignoffError
from signoff.services.authz import forbid, refusal_event
from signoff.services.context import ServiceContext

__all__ = ["MAX_BATCH", "OUTCOME_STATUSES", "record_outcome", "report_outcome",
           "report_outcomes"]

OUTCOME_STATUSES = ("succeeded", "failed")
MAX_BATCH = 100
_NOT_YOURS = "only the agent or the executor may report the outcome"


def _check_status(status: str) -> None:
    if status not in OUTCOME_STATUSES:
        raise InvalidRequest("status must be 'succeeded' or 'failed'", field="status")


def _may_report(principal: Principal, action: Action, grant: Grant | None) -> bool:
    redeemer = grant.redeemed_by if grant is not None else None
    return (principal.is_agent and principal.id == action.agent_id) or \
        principal.has(Role.ADMIN) or redeemer == principal.actor


def _not_executing(action: Action) -> Conflict:
    return Conflict(f"the action is {action.status}; an outcome follows a redeemed grant",
                    status_now=action.status.value)


def record_outcome(ctx: ServiceContext, uow: Any, principal: Principal, action: Action,
                   status: str, detail: str, **data: Any) -> None:
    """Close an executing action in ``uow`` with its outcome, on record (``data`` joins the
    event's data: a fail-open run says so)."""
    uow.outcomes.add(action_id=action.id, status=status, detail=detail,
                     reported_by=principal.actor, at=ctx.now())
    action.status = ActionStatus(status)
    uow.actions.save(action)
    uow.record(ctx.event("action.outcome", principal, action_id=action.id,
                         agent_id=action.agent_id, workflow=action.workflow,
                         data={"status": status, "detail": detail, **data}))
    uow.wake(action.id)


def report_outcome(ctx: ServiceContext, principal: Principal, action_id: str, *, status: str,
                   detail: str) -> None:
    _check_status(status)
    with ctx.uow() as uow:
        found = uow.actions.get_with_grant(action_id, for_update=True)
        if found is None:
            raise NotFound(f"no action {action_id}")
        action, grant = found
        if not _may_report(principal, action, grant):
            raise forbid(ctx, principal, _NOT_YOURS, uow=uow, action_id=action_id)
        if action.status is not ActionStatus.EXECUTING:
            raise _not_executing(action)
        record_outcome(ctx, uow, principal, action, status, detail)
        uow.commit()


def _problem(exc: SignoffError) -> dict[str, Any]:
    return {"code": exc.code, "status": exc.status, "detail": exc.detail, **exc.extra}


def report_outcomes(ctx: ServiceContext, principal: Principal,
                    reports: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Apply ``(action_id, status, detail)`` reports in one transaction; one result per
    report, in the order given: ``{"action_id", "status"}`` when recorded, with ``"error"``
    (a problem: code, status, detail) when refused. A malformed batch (empty, too long, a
    repeated action, a bad status) is refused whole, before anything is read."""
    if not 0 < len(reports) <= MAX_BATCH:
        raise InvalidRequest(f"a batch holds 1 to {MAX_BATCH} outcomes", field="outcomes")
    ids = [r[0] for r in reports]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("an action appears twice in the batch", field="outcomes")
    for _, status, _ in reports:
        _check_status(status)
    results: dict[str, dict[str, Any]] = {}
    ordered = sorted(reports)  # one lock order for every batch
    with ctx.uow() as uow:
        every = uow.actions.each_with_grant([r[0] for r in ordered], for_update=True)
        for (action_id, status, detail), found in zip(ordered, every, strict=True):
            result: dict[str, Any] = {"action_id": action_id, "status": status}
            if found is None:
                result["error"] = _problem(NotFound(f"no action {action_id}"))
            elif not _may_report(principal, *found):
                # On record like a single refusal, without discarding the batch's other work.
                uow.record(refusal_event(ctx, principal, _NOT_YOURS, action_id=action_id,
                                         code=Forbidden.code))
                result["error"] = _problem(Forbidden(_NOT_YOURS))
            elif found[0].status is not ActionStatus.EXECUTING:
                result["error"] = _problem(_not_executing(found[0]))
            else:
                record_outcome(ctx, uow, principal, found[0], status, detail)
            results[action_id] = result
        uow.commit()
    return [results[action_id] for action_id in ids]
