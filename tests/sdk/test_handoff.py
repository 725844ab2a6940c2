from __future__ import annotations

import asyncio
import json

import httpx

from signoff.client import ActionRecord, Client, Handoff, current_handoff

PARENT = ActionRecord(id="act_parent", status="succeeded", tier="low", mode="allow",
                      digest="sha256:x", workflow="w", kind="k", target="t", params={},
                      agent_id="agt_b", chain=("agt_a",), on_behalf_of="alice@example.com")


def test_handoff_extends_the_chain_oldest_first_and_round_trips_headers() -> None:
    handoff = Handoff.from_action(PARENT)
    assert handoff == Handoff("act_parent", ("agt_a", "agt_b"), "alice@example.com")
    assert Handoff.from_headers({k.lower(): v for k, v in handoff.headers().items()}) == handoff
    assert Handoff.from_headers({}) is None


def test_proposals_inside_a_handoff_carry_parent_and_chain() -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={
            "id": "act_child", "status": "pending", "tier": "high", "mode": "require_approval",
            "digest": "sha256:y", "workflow": "w", "kind": "k", "target": "t", "params": {}})

    client = Client("http://signoff.test", "t", transport=httpx.MockTransport(handler))
    with client.handoff(PARENT):
        client.propose("w", "k", "t", {})
        assert current_handoff() is not None
    client.propose("w", "k", "t", {})
    first, second = bodies
    assert (first["parent_id"], first["chain"]) == ("act_parent", ["agt_a", "agt_b"])
    assert first["on_behalf_of"] == "alice@example.com"
    assert (second["parent_id"], second["chain"]) == (None, [])


async def test_handoff_is_per_task() -> None:
    client = Client("http://signoff.test", "t")

    async def inside() -> str | None:
        with client.handoff("act_1", chain=["agt_a"]):
            await asyncio.sleep(0)
            h = current_handoff()
            return h.parent_id if h else None

    async def outside() -> None:
        await asyncio.sleep(0)
        assert current_handoff() is None

    result, _ = await asyncio.gather(inside(), outside())
    assert result == "act_1"
    client.close()
