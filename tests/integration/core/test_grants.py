"""Grants: EdDSA JWTs bound to the digest, redeemed once, re-checked at execution time."""

from __future__ import annotations

import jwt
import pytest

from signoff.domain.actions import ActionStatus
from signoff.errors import AlreadyRedeemed, Conflict, Forbidden, GrantRefused
from signoff.services import identities, stopping, workflows
from signoff.services.grants import redeem_grant
from signoff.services.outcomes import report_outcome
from signoff.services.reviews import review_action
from signoff.services.sweeper import sweep
from tests.conftest import ADMIN
from tests.integration.core.helpers import events, propose, view


def grant_of(world, action_id):
    with world.ctx.uow(readonly=True) as uow:
        return uow.grants.for_action(action_id)


def test_grant_claims_verify_offline_with_the_jwks(world) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    header = jwt.get_unverified_header(grant.token)
    [key] = [k for k in world.ctx.signer.jwks()["keys"] if k["kid"] == header["kid"]]
    public = jwt.PyJWK(key).key
    claims = jwt.decode(grant.token, public, algorithms=["EdDSA"], audience="prod-deploys",
                        issuer="signoff")
    assert claims["sub"] == action.id and claims["dig"] == action.digest
    assert claims["knd"] == "draft.reply" and claims["tgt"] == "svc/api"
    assert claims["exp"] - claims["iat"] == 300


def test_redeem_exactly_once_then_outcome(world) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    result = redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)
    assert result["status"] == "executing"
    with pytest.raises(AlreadyRedeemed):
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)
    report_outcome(world.ctx, world.agent, action.id, status="succeeded", detail="sent")
    with pytest.raises(Conflict):
        report_outcome(world.ctx, world.agent, action.id, status="failed", detail="again")
    record = view(world, world.owner, action.id)
    assert record["status"] == "succeeded" and record["outcome"]["detail"] == "sent"
    assert [e["type"] for e in record["timeline"]][-3:] == [
        "grant.redeemed", "action.outcome", "review.viewed"]


def test_digest_mismatch_and_tampered_token_are_refused(world) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    other = "sha256:" + "0" * 64
    with pytest.raises(GrantRefused):
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=other)
    head, body, sig = grant.token.split(".")
    tampered = f"{head}.{body[:-2]}AA.{sig}"
    with pytest.raises(GrantRefused):
        redeem_grant(world.ctx, world.agent, token=tampered, digest=action.digest)
    assert events(world)[-1]["type"] == "grant.refused"
    # The real grant still works: refusals changed nothing.
    redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)


def test_unredeemed_grant_lapses_and_is_reported_as_lapsed(world, clock) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    clock.advance(301)
    with pytest.raises(GrantRefused) as refused:
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)
    assert refused.value.extra["reason"] == "lapsed"
    assert view(world, world.owner, action.id)["status"] == "lapsed"
    other = propose(world, "draft.reply")
    clock.advance(301)
    assert sweep(world.ctx).lapsed == 1
    assert view(world, world.owner, other.id)["status"] == "lapsed"


def test_world_is_rechecked_at_redeem(world, clock) -> None:
    approved = propose(world)
    view(world, world.rita, approved.id)
    clock.advance(16)
    review_action(world.ctx, world.rita, approved.id, verdict="approve",
                  rationale="the rollout plan is sound")
    grant = grant_of(world, approved.id)
    # The owner leaves: the workflow is held and approved work may not run.
    identities.update_user(world.ctx, ADMIN, world.owner.id, active=False)
    with pytest.raises(GrantRefused, match="no active accountable owner"):
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=approved.digest)
    identities.update_user(world.ctx, ADMIN, world.owner.id, active=True)
    redeem_grant(world.ctx, world.agent, token=grant.token, digest=approved.digest)


def test_frozen_workflow_or_suspended_agent_cannot_redeem(world) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    workflows.freeze_workflow(world.ctx, world.owner, "prod-deploys", reason="incident")
    with pytest.raises(GrantRefused, match="revoked"):
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)
    workflows.unfreeze_workflow(world.ctx, world.owner, "prod-deploys")
    fresh = propose(world, "draft.reply")
    stopping.suspend_agent(world.ctx, world.owner, world.agent.id, reason="incident")
    with pytest.raises(Forbidden):
        redeem_grant(world.ctx, world.agent, token=grant_of(world, fresh.id).token,
                     digest=fresh.digest)


def test_only_the_agent_an_executor_or_admin_redeems(world) -> None:
    action = propose(world, "draft.reply")
    grant = grant_of(world, action.id)
    with pytest.raises(GrantRefused):
        redeem_grant(world.ctx, world.rita, token=grant.token, digest=action.digest)
    executor, _ = identities.create_agent(world.ctx, ADMIN, name="executor",
                                          owner_email="ash@example.com",
                                          scopes={"workflows": ["prod-deploys"], "kinds": []})
    from signoff.domain.identities import Principal, PrincipalKind
    as_executor = Principal(kind=PrincipalKind.AGENT, id=executor.id)
    assert redeem_grant(world.ctx, as_executor, token=grant.token,
                        digest=action.digest)["status"] == ActionStatus.EXECUTING.value


def test_redeem_on_propose_spends_the_grant_in_the_same_transaction(world) -> None:
    from signoff.services.actions import submit_action
    from tests.integration.core.helpers import request

    action, _ = submit_action(world.ctx, world.agent, request("draft.reply"), redeem=True)
    assert action.status is ActionStatus.EXECUTING
    grant = grant_of(world, action.id)
    assert grant.redeemed_at is not None and grant.redeemed_by == f"agent:{world.agent.id}"
    with pytest.raises(AlreadyRedeemed):
        redeem_grant(world.ctx, world.agent, token=grant.token, digest=action.digest)
    report_outcome(world.ctx, world.agent, action.id, status="succeeded", detail="done")
    types = [e["type"] for e in events(world, action.id)]
    assert types[:2] == ["action.submitted", "grant.redeemed"]
    # Work that needs approval is not touched by the flag.
    held, _ = submit_action(world.ctx, world.agent, request("deploy.release"), redeem=True)
    assert held.status is ActionStatus.PENDING and grant_of(world, held.id) is None
