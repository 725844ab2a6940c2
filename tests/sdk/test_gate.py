"""Gate behaviour that needs no server: argument checks, fail closed, fail open, rogue grants."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_helpers import KeyPair

from signoff.client import (
    AsyncClient,
    Client,
    FailOpenJournal,
    GrantRefused,
    RetryPolicy,
    TierMemory,
    Unavailable,
    compute_digest,
)
from signoff.errors import InvalidRequest

FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def offline_client(**kw: Any) -> Client:
    return Client(f"http://127.0.0.1:{closed_port()}", "so_agent_x", retry=FAST, **kw)


def test_arguments_json_cannot_carry_fail_before_any_network_call() -> None:
    seen: list[httpx.Request] = []
    client = Client("http://signoff.test", "t", transport=httpx.MockTransport(
        lambda r: seen.append(r) or httpx.Response(500)))
    ran = []

    @client.gate(workflow="refunds", kind="payments.send", target="cus_42")
    def refund(when: dt.datetime) -> None:
        ran.append(when)

    with pytest.raises(InvalidRequest, match=r"params.when: a datetime"):
        refund(dt.datetime.now())
    assert seen == [] and ran == []


def test_unreachable_signoff_fails_closed() -> None:
    client = offline_client()
    ran = []

    @client.gate(workflow="refunds", kind="payments.send", target=lambda customer: customer)
    def refund(customer: str, amount: int) -> None:
        ran.append(customer)

    with pytest.raises(Unavailable):
        refund("cus_42", amount=120)
    block = client.gate(workflow="r", kind="k", target=lambda target_id: target_id)
    with pytest.raises(Unavailable), block.call(target_id="x"):
        ran.append("block")
    with pytest.raises(InvalidRequest, match="target"):
        client.gate(workflow="r", kind="k").call(amount=1)
    assert ran == []


def test_binding_flattens_kwargs_applies_defaults_and_skips_self() -> None:
    gate = offline_client().gate(workflow="w", kind="k", target="t")

    class Tool:
        def run(self, a: int, b: int = 2, *rest: int, **extra: str) -> None: ...

    params = gate.bind(Tool.run, (Tool(), 1, 3, 4), {"note": "x"})
    assert params == {"a": 1, "b": 3, "rest": [4], "note": "x"}


def test_fail_open_only_where_the_server_last_said_low(tmp_path: Path) -> None:
    memory = TierMemory()
    journal = FailOpenJournal(tmp_path / "fail-open.jsonl")
    client = offline_client(tier_memory=memory, fail_open_journal=journal)
    ran = []

    def draft(title: str) -> str:
        ran.append(title)
        return f"drafted {title}"

    gated = client.gate(workflow="docs", kind="draft.write", target=lambda title: title,
                        fail_open_for=("low",))(draft)
    with pytest.raises(Unavailable):  # never seen a decision: fail closed
        gated("first")
    memory.remember("docs", "draft.write", tier="low", mode="allow")
    assert gated("second") == "drafted second"
    (rec,) = FailOpenJournal(tmp_path / "fail-open.jsonl").pending()  # survives a restart
    assert rec.remembered_tier == "low" and rec.outcome == {"status": "succeeded",
                                                            "detail": "'drafted second'"}
    assert rec.digest == compute_digest("docs", "draft.write", "second", {"title": "second"})
    memory.remember("docs", "draft.write", tier="high", mode="require_approval")
    with pytest.raises(Unavailable):  # one high decision for the pair blocks it
        gated("third")
    assert ran == ["second"]


def test_fail_open_is_refused_for_anything_but_low() -> None:
    with pytest.raises(InvalidRequest, match="only accepts 'low'"):
        offline_client().gate(workflow="w", kind="k", fail_open_for=("low", "high"))


def rogue_server(key: KeyPair, *, digest: str) -> tuple[httpx.MockTransport, list[str]]:
    """A server (or a man in the middle) that allows the call but signs a different payload."""
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(f"{request.method} {request.url.path}")
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(200, json=key.jwks())
        if request.url.path == "/v1/actions":
            body = json.loads(request.content)
            token = key.grant(digest=digest, workflow=body["workflow"], kind=body["kind"],
                              target=body["target"], action_id="act_1")
            return httpx.Response(201, json={
                "id": "act_1", "status": "allowed", "tier": "low", "mode": "allow",
                "digest": digest, "workflow": body["workflow"], "kind": body["kind"],
                "target": body["target"], "params": body["params"], "reasons": [],
                "grant": {"jti": "j", "state": "issued", "expires_at": None, "token": token}})
        return httpx.Response(500)

    return httpx.MockTransport(handler), paths


def test_grant_for_other_arguments_never_runs_the_function() -> None:
    key = KeyPair()
    other = compute_digest("refunds", "payments.send", "cus_42", {"amount": 99999})
    transport, paths = rogue_server(key, digest=other)
    client = Client("http://signoff.test", "t", transport=transport, retry=FAST)
    ran = []

    @client.gate(workflow="refunds", kind="payments.send", target=lambda customer: customer)
    def refund(customer: str, amount: int) -> None:
        ran.append(amount)

    with pytest.raises(GrantRefused, match="digest"):
        refund("cus_42", 120)
    assert ran == [] and "POST /v1/grants/redeem" not in paths


async def test_async_function_gets_the_same_refusal() -> None:
    key = KeyPair()
    transport, paths = rogue_server(key, digest="sha256:" + "1" * 64)
    client = AsyncClient("http://signoff.test", "t", transport=transport, retry=FAST)
    ran = []

    @client.gate(workflow="refunds", kind="payments.send", target="cus_42")
    async def refund(amount: int) -> None:
        ran.append(amount)

    with pytest.raises(GrantRefused):
        await refund(120)
    assert ran == [] and "POST /v1/grants/redeem" not in paths
    await client.aclose()
