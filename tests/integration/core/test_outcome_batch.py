"""Outcome reports in a batch (POST /v1/outcomes): one transaction, one result per report; a
refused report changes nothing and the others commit, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from signoff.adapters.db.audit_store import audit_deps
from signoff.adapters.db.pg_wire import PgWire
from signoff.api.app import create_app
from signoff.domain.actions import ActionStatus
from signoff.domain.identities import Principal, PrincipalKind
from signoff.errors import InvalidRequest
from signoff.services import audit, identities
from signoff.services.actions import submit_action
from signoff.services.outcomes import MAX_BATCH, report_outcomes
from tests.conftest import ADMIN
from tests.integration.core.helpers import events, request


def _executing(world: Any, n: int, agent: Principal | None = None) -> list[str]:
    """Allowed low-tier actions, redeemed on proposal: each waits for its outcome."""
    ids = []
    for i in range(n):
        action, _ = submit_action(world.ctx, agent or world.agent,
                                  request("draft.reply", params={"i": i}), redeem=True)
        assert action.status is ActionStatus.EXECUTING
        ids.append(action.id)
    return ids


def _status(world: Any, action_id: str) -> str:
    with world.ctx.uow(readonly=True) as uow:
        return uow.actions.get(action_id).status.value


def test_each_report_stands_alone_and_the_good_ones_commit_together(world: Any) -> None:
    first, second, done = _executing(world, 3)
    report_outcomes(world.ctx, world.agent, [(done, "succeeded", "earlier")])
    other_agent, _ = identities.create_agent(world.ctx, ADMIN, name="other-bot",
                                             owner_email="ash@example.com",
                                             scopes={"workflows": ["*"], "kinds": ["*"]})
    other = Principal(kind=PrincipalKind.AGENT, id=other_agent.id, name="other-bot")
    [foreign] = _executing(world, 1, other)

    results = report_outcomes(world.ctx, world.agent, [
        (second, "failed", "boom"), ("act_missing", "succeeded", ""),
        (done, "failed", "again"), (foreign, "succeeded", "not mine"),
        (first, "succeeded", "sent")])

    assert [r["action_id"] for r in results] == [second, "act_missing", done, foreign, first]
    assert "error" not in results[0] and "error" not in results[4]
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["error"]["code"] == "conflict"
    assert results[2]["error"]["status_now"] == "succeeded"
    assert results[3]["error"]["code"] == "forbidden"
    assert (_status(world, first), _status(world, second)) == ("succeeded", "failed")
    assert (_status(world, done), _status(world, foreign)) == ("succeeded", "executing")
    [outcome] = [e for e in events(world, second) if e["type"] == "action.outcome"]
    assert outcome["data"] == {"status": "failed", "detail": "boom"}
    denied = [e for e in events(world, foreign) if e["type"] == "access.denied"]
    assert len(denied) == 1 and denied[0]["actor"] == world.agent.actor
    report = audit.verify(audit_deps(world.ctx, world.app.settings), ADMIN)
    assert report["ok"] is True


@pytest.mark.parametrize("reports, message", [
    ([], "1 to 100"),
    ([("a", "succeeded", "")] * 2, "appears twice"),
    ([("a", "succeeded", ""), ("b", "done", "")], "status must be"),
])
def test_a_malformed_batch_is_refused_whole(world: Any, reports: list[Any],
                                            message: str) -> None:
    [action_id] = _executing(world, 1)
    before = len(events(world))
    with pytest.raises(InvalidRequest, match=message):
        report_outcomes(world.ctx, world.agent, [(action_id, "succeeded", ""), *reports]
                        if message == "status must be" else reports)
    assert _status(world, action_id) == "executing" and len(events(world)) == before


def test_over_http_one_result_per_report_and_bad_bodies_are_422(world: Any) -> None:
    ids = _executing(world, 2)
    with TestClient(create_app(world.app, sweeper=False)) as client:
        auth = {"Authorization": f"Bearer {world.agent_token}"}
        body = {"outcomes": [{"action_id": ids[0], "status": "succeeded", "detail": "ok"},
                             {"action_id": ids[1], "status": "failed"}]}
        assert client.post("/v1/outcomes", json=body).status_code == 401
        answer = client.post("/v1/outcomes", json=body, headers=auth)
        assert answer.status_code == 200
        assert answer.json() == {"results": [
            {"action_id": ids[0], "status": "succeeded"},
            {"action_id": ids[1], "status": "failed"}]}
        again = client.post("/v1/outcomes", json=body, headers=auth).json()["results"]
        assert [r["error"]["code"] for r in again] == ["conflict", "conflict"]
        too_many = {"outcomes": [{"action_id": f"act_{i}", "status": "succeeded"}
                                 for i in range(MAX_BATCH + 1)]}
        for bad in ({}, {"outcomes": []}, too_many, {"outcomes": [{"status": "succeeded"}]},
                    {"outcomes": [{"action_id": "x", "status": "succeeded", "extra": 1}]}):
            r = client.post("/v1/outcomes", json=bad, headers=auth)
            assert r.status_code == 422, bad
        dup = {"outcomes": [{"action_id": ids[0], "status": "succeeded"}] * 2}
        r = client.post("/v1/outcomes", json=dup, headers=auth)
        assert r.status_code == 422 and "appears twice" in r.json()["detail"]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SQLite has no round trips
def test_a_batch_reads_all_its_actions_in_one_round_trip_on_postgresql(
        world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _executing(world, 6)
    flights: list[int] = []
    real = PgWire.exchange

    def counting(self: PgWire, statements: Any) -> Any:
        flights.append(len(statements))
        return real(self, statements)

    monkeypatch.setattr(PgWire, "exchange", counting)
    results = report_outcomes(world.ctx, world.agent, [(a, "succeeded", "ok") for a in ids])
    assert all("error" not in r for r in results)
    # the six locked reads together; then the writes, the events (chained by the server) and
    # COMMIT
    assert len(flights) == 2 and flights[0] == 6
    assert {_status(world, a) for a in ids} == {"succeeded"}
