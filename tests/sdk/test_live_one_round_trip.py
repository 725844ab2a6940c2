"""Redeem on propose against the real server: an allowed call is one request before it runs.

Requests are counted with an httpx event hook on the client's own connection to a real
``signoff serve`` process, so what is counted is what went over the wire.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import Live

from signoff.client import AsyncClient, Client, current_action
from signoff.errors import AlreadyRedeemed

Agent = Callable[..., Client]

pytestmark = pytest.mark.e2e


def wire(client: Client) -> list[str]:
    """Every request the client sends from now on, as ``METHOD /path`` (bodies checked too)."""
    sent: list[str] = []

    def hook(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")
        if request.url.path == "/v1/actions" and request.method == "POST":
            assert json.loads(request.content)["redeem"] is True

    client._http.event_hooks = {"request": [hook], "response": []}
    return sent


def test_an_allowed_call_makes_exactly_one_request_before_it_runs(live: Live,
                                                                   agent: Agent) -> None:
    client = agent()
    sent = wire(client)
    before_run: list[list[str]] = []
    ids: list[str] = []

    @client.gate(workflow=live.workflow, kind="draft.write", target=lambda title: title)
    def draft(title: str) -> str:
        before_run.append(list(sent))
        action = current_action()
        ids.append(action.id if action else "")
        return f"drafted {title}"

    assert draft("warm-up") == "drafted warm-up"  # the first call also fetches the JWKS once
    assert before_run[0] == ["POST /v1/actions", "GET /.well-known/jwks.json"]
    assert client.flush_outcomes(10)
    sent.clear()
    assert draft("notes") == "drafted notes"
    assert before_run[1] == ["POST /v1/actions"]  # no redeem request, no outcome yet
    assert client.flush_outcomes(10)
    assert sent == ["POST /v1/actions", "POST /v1/outcomes"]
    assert client.get(ids[1]).status == "succeeded"


def test_the_grant_spent_by_the_proposal_cannot_be_redeemed_again(live: Live,
                                                                   agent: Agent) -> None:
    client = agent()
    seen = []

    @client.gate(workflow=live.workflow, kind="draft.write", target="doc-spent")
    def draft(n: int) -> int:
        action = current_action()
        assert action is not None and action.status == "executing"
        assert action.grant is not None and action.grant.state == "redeemed"
        seen.append(action)
        return n

    assert draft(3) == 3
    grant = seen[0].grant
    assert grant is not None and grant.token
    with pytest.raises(AlreadyRedeemed):
        client.redeem(grant.token, seen[0].digest)
    assert client.flush_outcomes(10)
    record = client.get(seen[0].id)
    assert record.status == "succeeded" and record.outcome is not None
    assert record.outcome.detail == "3"


def test_an_approved_call_still_redeems_after_the_wait(live: Live, agent: Agent) -> None:
    client = agent()
    sent = wire(client)
    ran = threading.Event()

    @client.gate(workflow=live.workflow, kind="payments.send", target="cus_round_trip")
    def refund(amount: int) -> int:
        ran.set()
        return amount

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(refund, 9)
        action_id = live.decide_next("approve")
        assert future.result(timeout=30) == 9
    assert sent[0] == "POST /v1/actions" and "POST /v1/grants/redeem" in sent
    assert sent.index("POST /v1/grants/redeem") > sent.index(f"GET /v1/actions/{action_id}/wait")
    assert client.flush_outcomes(10)
    assert client.get(action_id).status == "succeeded"


async def test_async_allowed_call_is_one_request_and_aclose_flushes_the_outcome(
        live: Live) -> None:
    client = AsyncClient(live.url, live.agent_token)
    sent: list[str] = []

    async def hook(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    client._http.event_hooks = {"request": [hook], "response": []}
    before_run: list[list[str]] = []
    ids: list[str] = []

    @client.gate(workflow=live.workflow, kind="draft.write", target="doc-async")
    async def draft(n: int) -> int:
        before_run.append(list(sent))
        action = current_action()
        ids.append(action.id if action else "")
        return n

    assert await draft(1) == 1
    assert await client.flush_outcomes(10)
    sent.clear()
    assert await draft(2) == 2
    assert before_run[1] == ["POST /v1/actions"]
    await client.aclose()  # flushes the queued outcome before closing
    assert sent == ["POST /v1/actions", "POST /v1/outcomes"]
    with Client(live.url, live.agent_token) as checker:
        assert checker.get(ids[1]).status == "succeeded"
