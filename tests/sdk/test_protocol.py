"""Protocol-level behaviour a real server cannot easily produce: garbage, 503s, lost answers."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from signoff.client import AsyncClient, Client, OutcomeUnknown, RetryPolicy
from signoff.errors import (
    AgentSuspended,
    AlreadyRedeemed,
    GrantRefused,
    ProtocolError,
    ReviewTooSoon,
    SignoffError,
    Unavailable,
)

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


def record(**over: Any) -> dict[str, Any]:
    base = {"id": "act_1", "status": "pending", "tier": "high", "mode": "require_approval",
            "reasons": [{"rule_id": "r", "message": "m"}], "digest": "sha256:x",
            "workflow": "refunds", "kind": "payments.send", "target": "cus_42", "params": {},
            "chain": [], "created_at": "2026-01-01T00:00:00Z", "grant": None}
    base.update(over)
    return base


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"https://signoff.dev/problems/{code}", "title": code, "status": status,
            "detail": f"{code} happened", "code": code, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def client_with(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[Client, list]:
    seen: list[httpx.Request] = []

    def wrapped(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return Client("http://signoff.test", "so_agent_x", retry=FAST,
                  transport=httpx.MockTransport(wrapped)), seen


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>hello</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"id": "act_1"}),                      # missing keys
        httpx.Response(200, json=record(status="teleported")),          # unknown status
        httpx.Response(200, json=record(reasons="nope")),               # wrong shape
        httpx.Response(200, json=record(grant={"jti": 5})),
        httpx.Response(200, json=record(created_at="yesterday")),
        httpx.Response(404, text="Not Found"),                          # not a problem body
        httpx.Response(500, text="Internal Server Error"),
    ],
)
def test_garbage_is_a_protocol_error(response: httpx.Response) -> None:
    client, _ = client_with(lambda request: response)
    with pytest.raises(ProtocolError):
        client.get("act_1")


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (problem(422, "review_too_soon", seconds_left=7), ReviewTooSoon),
        (problem(403, "agent_suspended"), AgentSuspended),
        (problem(403, "grant_refused"), GrantRefused),
        (problem(418, "from_the_future"), SignoffError),
        (httpx.Response(502, text="bad gateway"), Unavailable),
    ],
)
def test_problems_map_back_to_the_error_tree(response: httpx.Response, cls: type) -> None:
    client, _ = client_with(lambda request: response)
    with pytest.raises(cls) as info:
        client.get("act_1")
    assert type(info.value) is cls
    if cls is ReviewTooSoon:
        assert info.value.extra["seconds_left"] == 7


def test_503_is_retried_for_propose_with_the_same_idempotency_key() -> None:
    answers = iter([problem(503, "unavailable"), httpx.Response(503, text="busy"),
                    httpx.Response(201, json=record(status="allowed", tier="low", mode="allow"))])
    client, seen = client_with(lambda request: next(answers))
    result = client.propose("refunds", "payments.send", "cus_42", {"amount": 1})
    assert result.status == "allowed"
    keys = {json.loads(r.content)["idempotency_key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1
    second, _ = client_with(lambda request: httpx.Response(201, json=record()))
    assert second.propose("refunds", "payments.send", "cus_42").status == "pending"


def test_503_for_redeem_is_not_retried() -> None:
    client, seen = client_with(lambda request: problem(503, "unavailable"))
    with pytest.raises(Unavailable):
        client.redeem("a.b.c", "sha256:x")
    assert len(seen) == 1


def test_503_retries_give_up_as_unavailable() -> None:
    client, seen = client_with(lambda request: problem(503, "unavailable"))
    with pytest.raises(Unavailable):
        client.get("act_1")
    assert len(seen) == FAST.attempts


def grant_for(action_id: str) -> str:
    import base64

    body = base64.urlsafe_b64encode(json.dumps({"sub": action_id}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJFZERTQSJ9.{body}.sig"


def lost_redeem(grant_state: str, second: httpx.Response) -> tuple[Client, list]:
    posts = iter([httpx.ReadError("connection reset"), second])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=record(status="allowed", grant={
                "jti": "j", "state": grant_state, "expires_at": None}))
        outcome = next(posts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return client_with(handler)


def test_lost_redeem_answer_with_a_spent_grant_is_not_resent() -> None:
    client, seen = lost_redeem("redeemed", httpx.Response(200, json={}))
    with pytest.raises(OutcomeUnknown, match="not re-sent"):
        client.redeem(grant_for("act_1"), "sha256:x")
    assert [r.method for r in seen] == ["POST", "GET"]


def test_lost_redeem_that_never_landed_is_sent_once_more() -> None:
    ok = httpx.Response(200, json={"action_id": "act_1", "jti": "j", "status": "executing",
                                   "redeemed_at": "2026-01-01T00:00:01Z"})
    client, seen = lost_redeem("issued", ok)
    assert client.redeem(grant_for("act_1"), "sha256:x").status == "executing"
    assert [r.method for r in seen] == ["POST", "GET", "POST"]


def test_second_redeem_is_already_redeemed() -> None:
    client, _ = client_with(lambda request: problem(409, "already_redeemed"))
    with pytest.raises(AlreadyRedeemed):
        client.redeem(grant_for("act_1"), "sha256:x")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_unavailable() -> None:
    client = Client(f"http://127.0.0.1:{closed_port()}", "so_agent_x", retry=FAST)
    with pytest.raises(Unavailable, match="cannot reach"):
        client.propose("refunds", "payments.send", "cus_42", {"amount": 1})
    with pytest.raises(Unavailable) as info:
        client.redeem(grant_for("act_1"), "sha256:x")
    assert not isinstance(info.value, OutcomeUnknown)  # refused: provably never sent


async def test_async_client_maps_the_same_way() -> None:
    answers = iter([problem(503, "unavailable"), httpx.Response(200, text="garbage")])
    client = AsyncClient("http://signoff.test", "so_agent_x", retry=FAST,
                         transport=httpx.MockTransport(lambda request: next(answers)))
    with pytest.raises(ProtocolError):
        await client.get("act_1")
    await client.aclose()
    closed = AsyncClient(f"http://127.0.0.1:{closed_port()}", retry=FAST)
    with pytest.raises(Unavailable):
        await closed.get("act_1")
    await closed.aclose()


def test_wait_long_polls_without_busy_looping() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(float(request.url.params["timeout"]))
        status = "approved" if len(calls) == 3 else "pending"
        return httpx.Response(200, json=record(status=status))

    client, _ = client_with(handler)
    assert client.wait("act_1", poll=0.05).status == "approved"
    assert calls == [0.05, 0.05, 0.05]
