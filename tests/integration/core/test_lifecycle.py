"""The lifecycle rules of SPEC section 3, through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from signoff.adapters.policy import default_policy_path, load_policy
from signoff.domain.actions import ActionStatus
from signoff.errors import (
    AgentSuspended,
    Conflict,
    Forbidden,
    RationaleRequired,
    ReviewTooSoon,
    WorkflowFrozen,
)
from signoff.services import identities, stopping, workflows
from signoff.services.actions import cancel_action, submit_action
from signoff.services.reviews import review_action
from signoff.services.sweeper import sweep
from tests.conftest import ADMIN
from tests.integration.core.helpers import events, propose, request, view

GOOD = "checked the change, the canary and the rollback plan"


def approve(world, who, action_id, rationale=GOOD):
    return review_action(world.ctx, who, action_id, verdict="approve", rationale=rationale)


def test_low_risk_is_allowed_with_a_grant_and_an_audit_record(world) -> None:
    action = propose(world, "draft.reply")
    assert action.status is ActionStatus.ALLOWED and action.tier == "low"
    with world.ctx.uow(readonly=True) as uow:
        grant = uow.grants.for_action(action.id)
    assert grant is not None and grant.digest == action.digest
    [event] = events(world, action.id)
    assert event["type"] == "action.submitted" and event["actor"] == f"agent:{world.agent.id}"
    # no SIGNOFF_POLICY: the shipped default policy decided, and the event names it and the rule
    assert event["data"]["policy_version"] == load_policy(default_policy_path()).version
    assert event["data"]["matched_rules"] == ["internal-drafting"]
    assert event["data"]["decided_by"] == "system:policy"  # automatic decisions say who


def test_high_risk_waits_for_a_human_and_the_review_clock(world, clock) -> None:
    action = propose(world)
    assert action.status is ActionStatus.PENDING and action.expires_at is not None
    with pytest.raises(ReviewTooSoon) as unseen:
        approve(world, world.rita, action.id)
    assert unseen.value.extra["seconds_left"] == 15
    view(world, world.rita, action.id)
    view(world, world.rita, action.id)  # viewing twice records one event
    clock.advance(10)
    with pytest.raises(ReviewTooSoon) as early:
        approve(world, world.rita, action.id)
    assert early.value.extra["seconds_left"] == 5
    clock.advance(5)
    with pytest.raises(RationaleRequired):
        approve(world, world.rita, action.id, rationale="lgtm")
    result = approve(world, world.rita, action.id)
    assert result["status"] == "approved"
    types = [e["type"] for e in events(world, action.id)]
    assert types.count("review.viewed") == 1
    assert types.count("review.refused") == 3
    assert types[-2:] == ["review.recorded", "action.approved"]


def test_agents_never_review_and_refusal_is_audited(world) -> None:
    action = propose(world)
    with pytest.raises(Forbidden):
        approve(world, world.agent, action.id)
    assert events(world, action.id)[-1]["type"] == "access.denied"


def test_on_behalf_of_human_cannot_approve(world, clock) -> None:
    action = propose(world, on_behalf_of="rita@example.com")
    view(world, world.rita, action.id)
    clock.advance(20)
    with pytest.raises(Forbidden):
        approve(world, world.rita, action.id)


def test_ineligible_human_cannot_review(world, clock) -> None:
    action = propose(world)
    view(world, world.auditor, action.id)
    clock.advance(20)
    with pytest.raises(Forbidden):
        approve(world, world.auditor, action.id)


def test_any_eligible_reject_vetoes(world, clock) -> None:
    action = propose(world, "secrets.read")  # critical: two approvals needed
    for who in (world.rita, world.sid):
        view(world, who, action.id)
    clock.advance(31)
    assert approve(world, world.rita, action.id)["quorum"]["short_by"] == 1
    with pytest.raises(Conflict):
        approve(world, world.rita, action.id)  # a person counts once
    result = review_action(world.ctx, world.sid, action.id, verdict="reject",
                           rationale="not during the freeze window")
    assert result["status"] == "rejected"


def test_expiry_fails_closed(world, clock) -> None:
    action = propose(world)
    clock.advance(4 * 3600 + 1)
    assert sweep(world.ctx).expired == 1
    view(world, world.rita, action.id)
    with pytest.raises(Conflict):
        approve(world, world.rita, action.id)
    types = [e["type"] for e in events(world, action.id)]
    assert types == ["action.submitted", "action.expired", "review.viewed", "review.refused"]


def test_escalation_notifies_backups_and_keeps_state(world, clock) -> None:
    action = propose(world)
    clock.advance(30 * 60 + 1)
    assert sweep(world.ctx).escalated == 1
    assert sweep(world.ctx).escalated == 0
    escalated = [e for e in events(world, action.id) if e["type"] == "action.escalated"]
    assert escalated[0]["data"]["notify"] == ["rita@example.com"]
    assert view(world, world.owner, action.id)["status"] == "pending"


def test_cancel_by_agent_owner_or_admin_only(world) -> None:
    action = propose(world)
    with pytest.raises(Forbidden):
        cancel_action(world.ctx, world.rita, action.id)
    assert cancel_action(world.ctx, world.agent, action.id).status is ActionStatus.CANCELLED
    with pytest.raises(Conflict):
        cancel_action(world.ctx, world.agent, action.id)


def test_kill_switch(world) -> None:
    pending = propose(world)
    allowed = propose(world, "draft.reply")
    result = stopping.suspend_agent(world.ctx, world.owner, world.agent.id, reason="incident")
    assert result == {"agent_id": world.agent.id, "status": "suspended",
                      "actions_cancelled": 1, "grants_revoked": 1}
    assert view(world, world.owner, pending.id)["status"] == "cancelled"
    assert view(world, world.owner, allowed.id)["grant"]["state"] == "revoked"
    with pytest.raises(AgentSuspended):
        propose(world, "draft.reply")
    assert events(world)[-1]["type"] == "action.refused"


def test_reviewer_may_not_suspend_an_agent(world) -> None:
    with pytest.raises(Forbidden):
        stopping.suspend_agent(world.ctx, world.rita, world.agent.id, reason="x")


def test_freeze_refuses_new_work_and_revokes_grants(world) -> None:
    allowed = propose(world, "draft.reply")
    with pytest.raises(Forbidden):
        workflows.freeze_workflow(world.ctx, world.rita, "prod-deploys", reason="x")
    workflows.freeze_workflow(world.ctx, world.owner, "prod-deploys", reason="incident 42")
    assert view(world, world.owner, allowed.id)["grant"]["state"] == "revoked"
    with pytest.raises(WorkflowFrozen) as refused:
        propose(world, "draft.reply")
    assert "incident 42" in refused.value.detail
    workflows.unfreeze_workflow(world.ctx, world.owner, "prod-deploys")
    assert propose(world, "draft.reply").status is ActionStatus.ALLOWED


def test_held_workflow_denies_gated_work(world) -> None:
    identities.update_user(world.ctx, ADMIN, world.owner.id, active=False)
    action = propose(world)
    assert action.status is ActionStatus.DENIED
    assert {"rule_id": "workflow.held", "message": "no active accountable owner"} in \
        action.reasons
    assert propose(world, "draft.reply").status is ActionStatus.ALLOWED


def test_workflow_owner_change_is_audited_and_needs_an_active_human(world) -> None:
    workflows.set_workflow_owner(world.ctx, world.owner, "prod-deploys",
                                 owner_email="sid@example.com")
    change = [e for e in events(world) if e["type"] == "workflow.owner_changed"][-1]
    assert change["data"] == {"workflow": "prod-deploys", "from": "olivia@example.com",
                              "to": "sid@example.com"}
    identities.update_user(world.ctx, ADMIN, world.rita.id, active=False)
    with pytest.raises(Exception, match="not an active user"):
        workflows.set_workflow_owner(world.ctx, ADMIN, "prod-deploys",
                                     owner_email="rita@example.com")


def test_scopes_and_unknown_workflow_are_403(world) -> None:
    with pytest.raises(Forbidden):
        propose(world, "payments.send")
    with pytest.raises(Forbidden):
        propose(world, "deploy.release", workflow="nope")


def test_idempotency_returns_the_first_result(world) -> None:
    first, created = submit_action(world.ctx, world.agent, request(idempotency_key="k1"))
    again, created_again = submit_action(world.ctx, world.agent, request(idempotency_key="k1"))
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict):
        submit_action(world.ctx, world.agent,
                      request(idempotency_key="k1", params={"version": "9"}))


def test_agent_sees_only_its_own_actions(world) -> None:
    action = propose(world)
    other, _ = identities.create_agent(world.ctx, ADMIN, name="other-bot",
                                       owner_email="ash@example.com",
                                       scopes={"workflows": ["*"], "kinds": ["*"]})
    from signoff.domain.identities import Principal, PrincipalKind
    intruder = Principal(kind=PrincipalKind.AGENT, id=other.id)
    with pytest.raises(Forbidden):
        view(world, intruder, action.id)


def test_events_are_in_order_and_gapless(world, clock) -> None:
    for _ in range(5):
        propose(world, "draft.reply")
    seqs = [e["seq"] for e in events(world)]
    assert seqs == list(range(1, len(seqs) + 1))
