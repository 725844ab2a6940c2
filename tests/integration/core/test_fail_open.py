"""POST /v1/fail-open: calls an agent ran while signoff was unreachable are audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.domain.actions import ActionRequest, ActionStatus, compute_digest
from signoff.errors import Conflict, Forbidden, InvalidRequest
from signoff.services import stopping
from signoff.services.fail_open import FailOpenReport, record_fail_open
from signoff.services.queries import post_review_queue
from tests.conftest import ADMIN
from tests.integration.core.helpers import events, propose, view

OK = {"status": "succeeded", "detail": "'ok'"}


def report(kind: str = "draft.reply", *, key: str = "sdk-k1", target: str = "kb/faq",
           params: dict[str, Any] | None = None, outcome: dict[str, str] | None | str = "ok",
           digest: str | None = None, **over: Any) -> FailOpenReport:
    params = params if params is not None else {"title": "Opening hours"}
    request = ActionRequest(workflow="prod-deploys", kind=kind, target=target, params=params,
                            summary="Draft an FAQ entry", idempotency_key=key,
                            parent_id=over.pop("parent_id", None),
                            chain=tuple(over.pop("chain", ())))
    return FailOpenReport(
        request=request,
        digest=digest or compute_digest("prod-deploys", kind, target, params),
        remembered_tier=over.pop("remembered_tier", "low"),
        unavailable_reason="connection refused", started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        outcome=OK if outcome == "ok" else outcome,  # type: ignore[arg-type]
        **over)


def test_a_low_run_is_recorded_with_its_outcome_and_one_event(world) -> None:
    action, created = record_fail_open(world.ctx, world.agent, report())
    assert created and action.status is ActionStatus.SUCCEEDED
    record = view(world, world.owner, action.id)
    assert record["tier"] == "low" and record["mode"] == "allow"
    assert record["post_review"] is False and record["grant"] is None
    assert record["outcome"]["status"] == "succeeded" and record["outcome"]["detail"] == "'ok'"
    assert record["requirements"]["fail_open"] is True
    assert any(r["rule_id"] == "fail_open" for r in record["reasons"])
    [event] = [e for e in events(world, action.id) if e["type"] == "action.fail_open"]
    assert event["actor"] == world.agent.actor
    assert event["data"]["remembered_tier"] == "low"
    assert event["data"]["unavailable_reason"] == "connection refused"
    assert event["data"]["post_review"] is False and event["data"]["digest"] == action.digest


def test_a_run_the_policy_now_holds_is_flagged_for_post_review(world) -> None:
    action, _ = record_fail_open(world.ctx, world.agent,
                                 report("deploy.release", target="svc/api",
                                        outcome={"status": "failed", "detail": "E: x"}))
    record = view(world, world.owner, action.id)
    assert record["status"] == "failed" and record["tier"] == "high"
    assert record["post_review"] is True
    assert action.id in [a["id"] for a in post_review_queue(world.ctx, world.owner)]
    [event] = [e for e in events(world, action.id) if e["type"] == "action.fail_open"]
    assert "the policy now says high/require_approval" in event["data"]["post_review_because"]


def test_repeats_are_idempotent_and_a_late_outcome_completes_the_run(world) -> None:
    first, created = record_fail_open(world.ctx, world.agent,
                                      report(key="sdk-late", outcome=None))
    assert created and first.status is ActionStatus.EXECUTING
    again, created = record_fail_open(world.ctx, world.agent,
                                      report(key="sdk-late", outcome=None))
    assert not created and again.id == first.id
    done, created = record_fail_open(world.ctx, world.agent, report(key="sdk-late"))
    assert not created and done.id == first.id
    record = view(world, world.owner, first.id)
    assert record["status"] == "succeeded" and record["outcome"]["status"] == "succeeded"
    record_fail_open(world.ctx, world.agent, report(key="sdk-late"))
    types = [e["type"] for e in events(world, first.id)]
    assert types.count("action.fail_open") == 1 and types.count("action.outcome") == 1
    with pytest.raises(Conflict):
        record_fail_open(world.ctx, world.agent, report(key="sdk-late", params={"title": "x"}))


def test_a_proposal_that_reached_signoff_but_ran_anyway_is_flagged(world) -> None:
    proposed = propose(world, "draft.reply", target="kb/faq", params={"title": "Opening hours"},
                       idempotency_key="sdk-lost")
    action, created = record_fail_open(world.ctx, world.agent, report(key="sdk-lost"))
    assert not created and action.id == proposed.id
    assert view(world, world.owner, proposed.id)["post_review"] is True
    record_fail_open(world.ctx, world.agent, report(key="sdk-lost"))
    types = [e["type"] for e in events(world, proposed.id)]
    assert types.count("action.fail_open") == 1


def test_bad_reports_are_refused(world) -> None:
    with pytest.raises(InvalidRequest, match="digest"):
        record_fail_open(world.ctx, world.agent, report(digest="sha256:" + "0" * 64))
    with pytest.raises(InvalidRequest, match="outcome"):
        record_fail_open(world.ctx, world.agent,
                         report(outcome={"status": "maybe", "detail": ""}))
    with pytest.raises(Forbidden):
        record_fail_open(world.ctx, world.owner, report())
    with pytest.raises(Forbidden, match="scopes"):
        record_fail_open(world.ctx, world.agent, report("payments.send"))
    refusals = [e for e in events(world) if e["type"] in ("access.denied", "action.refused")]
    assert len(refusals) == 2


def test_a_suspended_agent_still_gets_its_run_recorded_and_reviewed(world) -> None:
    stopping.suspend_agent(world.ctx, ADMIN, world.agent.id, reason="incident")
    action, _ = record_fail_open(world.ctx, world.agent, report(key="sdk-susp"))
    record = view(world, world.owner, action.id)
    assert record["post_review"] is True and record["status"] == "succeeded"


def test_the_endpoint_takes_the_sdk_body(world) -> None:
    from signoff.client.failopen import FailOpenRecord

    params = {"title": "Opening hours", "n": 2}
    rec = FailOpenRecord(
        idempotency_key="sdk-http", workflow="prod-deploys", kind="note.add", target="kb",
        params=params, digest=compute_digest("prod-deploys", "note.add", "kb", params),
        remembered_tier="low", unavailable_reason="ConnectError", summary="note",
        started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:02Z",
        inputs=[{"source": "chat", "ref": "m1", "excerpt": "hi"}], chain=["agt_x"],
        outcome={"status": "succeeded", "detail": "'done'"})
    with TestClient(create_app(world.app, sweeper=False)) as http:
        auth = {"Authorization": f"Bearer {world.agent_token}"}
        first = http.post("/v1/fail-open", json=rec.as_body(), headers=auth)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["status"] == "succeeded" and body["tier"] == "low"
        assert body["chain"] == ["agt_x"] and body["inputs"][0]["excerpt"] == "hi"
        again = http.post("/v1/fail-open", json=rec.as_body(), headers=auth)
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        bad = http.post("/v1/fail-open", json={**rec.as_body(), "extra": 1}, headers=auth)
        assert bad.status_code == 422
        anon = http.post("/v1/fail-open", json=rec.as_body())
        assert anon.status_code == 401
