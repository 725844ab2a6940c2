"""Races across real server processes: one approval, one grant, one redeem, cross-process wake.

On PostgreSQL two `signoff serve` processes share one database; on SQLite one process serves
concurrent requests from threads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.conftest import Workspace, propose

pytestmark = pytest.mark.e2e
ROUNDS = 8


def _at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _server(ws: Workspace, i: int) -> int:
    return i % len(ws.servers)


def test_simultaneous_approvals_give_one_transition_and_one_grant(live_multi: Workspace
                                                                  ) -> None:
    ws = live_multi
    agent = ws.client("agent")
    actions = [propose(agent) for _ in range(ROUNDS)]
    for a in actions:
        for who in ("rita", "sid"):
            assert ws.client(who).get(f"/v1/actions/{a['id']}").status_code == 200
    time.sleep(15.2)  # min_review_seconds of the high tier, counted from the views above
    for a in actions:
        path = f"/v1/actions/{a['id']}/reviews"
        body = {"verdict": "approve", "rationale": "verified the release notes"}
        results = _at_once([lambda w=w, s=s, p=path, b=body: ws.client(w, s).post(p, json=b)
                            for w, s in (("rita", 0), ("sid", _server(ws, 1)))])
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        record = ws.client("audrey").get(f"/v1/actions/{a['id']}").json()
        types = [e["type"] for e in record["timeline"]]
        assert record["status"] == "approved"
        assert types.count("action.approved") == 1 and record["grant"]["state"] == "issued"


def test_simultaneous_redeems_give_exactly_one_200(live_multi: Workspace) -> None:
    ws = live_multi
    agent0, agent1 = ws.client("agent", 0), ws.client("agent", _server(ws, 1))
    for _ in range(ROUNDS * 2):
        action = propose(agent0, "draft.reply")
        token = agent0.get(f"/v1/actions/{action['id']}").json()["grant"]["token"]
        body = {"grant": token, "digest": action["digest"]}
        results = _at_once([lambda c=c, b=body: c.post("/v1/grants/redeem", json=b)
                            for c in (agent0, agent1, agent0, agent1)])
        assert sorted(r.status_code for r in results) == [200, 409, 409, 409]


def test_a_decision_in_one_process_wakes_a_waiter_in_another(live_multi: Workspace) -> None:
    ws = live_multi
    waiter_client = ws.client("agent", _server(ws, 1))
    latencies = []
    for _ in range(5):
        action = propose(ws.client("agent"))
        answer: dict[str, Any] = {}

        def wait(aid: str = action["id"], answer: dict[str, Any] = answer) -> None:
            answer["body"] = waiter_client.get(f"/v1/actions/{aid}/wait",
                                               params={"timeout": 20}).json()
            answer["at"] = time.monotonic()

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.3)
        r = ws.client("olivia", 0).post(f"/v1/actions/{action['id']}/cancel",
                                        json={"reason": "changed plan"})
        assert r.status_code == 200
        decided = time.monotonic()
        thread.join(10)
        assert answer["body"]["status"] == "cancelled"
        latencies.append(answer["at"] - decided)
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.1, latencies


def test_suspension_holds_at_once_in_every_process(live_multi: Workspace) -> None:
    ws = live_multi
    pending = propose(ws.client("agent"))
    r = ws.client("olivia", 0).post(f"/v1/agents/{ws.ids['agent']}/suspend",
                                    json={"reason": "incident"})
    assert r.json()["actions_cancelled"] == 1
    other = ws.client("agent", _server(ws, 1))
    refused = other.post("/v1/actions", json={"workflow": "prod-deploys", "kind": "draft.x",
                                              "params": {}})
    assert refused.status_code == 403 and refused.json()["code"] == "agent_suspended"
    assert other.get(f"/v1/actions/{pending['id']}").json()["status"] == "cancelled"


def test_simultaneous_proposals_with_one_idempotency_key_make_one_action(
        live_multi: Workspace) -> None:
    ws = live_multi
    clients = [ws.client("agent", _server(ws, i)) for i in range(4)]
    for round_ in range(ROUNDS):
        body = {"workflow": "prod-deploys", "kind": "draft.reply", "target": "t",
                "params": {"round": round_}, "idempotency_key": f"same-{round_}"}
        results = _at_once([lambda c=c, b=body: c.post("/v1/actions", json=b)
                            for c in clients])
        assert sorted(r.status_code for r in results) == [200, 200, 200, 201], \
            [r.text[:200] for r in results]
        assert len({r.json()["id"] for r in results}) == 1
