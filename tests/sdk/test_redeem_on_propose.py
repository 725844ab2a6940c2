"""Redeem on propose where a real server cannot be made to misbehave: lost answers, replays
with a caller's key, a spent grant for other arguments, outcomes that cannot be sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sdk_helpers import KeyPair

from signoff.client import (
    AsyncClient,
    Client,
    GrantRefused,
    OutcomeUnknown,
    RetryPolicy,
    compute_digest,
)
from signoff.client import outcomes as outcomes_module
from signoff.client.adapters import keyed
from signoff.client.gate import GateCall
from signoff.errors import InvalidRequest

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


class Server:
    """A scripted signoff: proposals answer ``executing`` with a redeemed, signed grant."""

    def __init__(self, *, lose_first: bool = False, replay_status: int = 200,
                 sign_digest: str | None = None, outcome_status: int = 200) -> None:
        self.key = KeyPair()
        self.seen: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.lose_first = lose_first
        self.replay_status = replay_status
        self.sign_digest = sign_digest
        self.outcome_status = outcome_status
        self.proposals = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(200, json=self.key.jwks())
        if request.url.path == "/v1/actions":
            body = json.loads(request.content)
            self.bodies.append(body)
            self.proposals += 1
            if self.lose_first and self.proposals == 1:
                raise httpx.ReadError("connection reset after the server committed")
            digest = compute_digest(body["workflow"], body["kind"], body["target"],
                                    body["params"])
            token = self.key.grant(digest=self.sign_digest or digest, workflow=body["workflow"],
                                   kind=body["kind"], target=body["target"], action_id="act_1")
            status = 201 if self.proposals == 1 else self.replay_status
            return httpx.Response(status, json={
                "id": "act_1", "status": "executing", "tier": "low", "mode": "allow",
                "digest": digest, "workflow": body["workflow"], "kind": body["kind"],
                "target": body["target"], "params": body["params"], "reasons": [],
                "grant": {"jti": "j", "state": "redeemed", "expires_at": None, "token": token}})
        if request.url.path == "/v1/outcomes":  # the background sender's batches
            if self.outcome_status != 200:
                return httpx.Response(self.outcome_status, text="busy")
            return httpx.Response(200, json={"results": [
                {"action_id": o["action_id"], "status": o["status"]}
                for o in json.loads(request.content)["outcomes"]]})
        if request.url.path == "/v1/actions/act_1/outcome":  # flush() of an unreported one
            if self.outcome_status != 200:
                return httpx.Response(self.outcome_status, text="busy")
            return httpx.Response(200, json={
                "id": "act_1", "status": "succeeded", "tier": "low", "mode": "allow",
                "digest": "sha256:x", "workflow": "w", "kind": "k", "target": "t",
                "params": {}, "reasons": []})
        return httpx.Response(500)

    def client(self) -> Client:
        return Client("http://signoff.test", "t", retry=FAST,
                      transport=httpx.MockTransport(self.handler))


def test_a_lost_proposal_answer_replayed_for_the_same_call_runs_once() -> None:
    # The first attempt reached the server (which spent the grant) but its answer was lost;
    # the retry carries the same, SDK-made key and gets the replay. Nothing ran before, so
    # the function runs exactly once, with no redeem request.
    server = Server(lose_first=True)
    client = server.client()
    ran: list[int] = []

    @client.gate(workflow="docs", kind="draft.write", target="kb")
    def draft(n: int) -> int:
        ran.append(n)
        return n

    assert draft(7) == 7 and ran == [7]
    assert server.proposals == 2
    assert len({b["idempotency_key"] for b in server.bodies}) == 1
    assert all(b["redeem"] is True for b in server.bodies)
    assert "POST /v1/grants/redeem" not in server.seen
    assert client.flush_outcomes(5)
    assert server.seen[-1] == "POST /v1/outcomes"
    client.close()


def test_a_replay_for_a_callers_key_never_runs() -> None:
    # An adapter's key (the model's tool-call id) may have been used by an earlier run that
    # got its answer and ran the function: a replayed executing action is not run again.
    server = Server()
    client = server.client()
    gate = client.gate(workflow="docs", kind="draft.write", target="kb")
    ran: list[int] = []
    with GateCall(gate, keyed(gate.prepare({"n": 1}), "lg-call-1")):
        ran.append(1)
    with pytest.raises(OutcomeUnknown, match="cannot run twice"), \
            GateCall(gate, keyed(gate.prepare({"n": 1}), "lg-call-1")):
        ran.append(2)
    assert ran == [1] and "POST /v1/grants/redeem" not in server.seen
    client.close()


def test_a_gated_call_object_runs_once() -> None:
    server = Server()
    client = server.client()
    call = client.gate(workflow="docs", kind="draft.write", target="kb").call(n=1)
    with call:
        pass
    with pytest.raises(InvalidRequest, match="runs once"), call:
        raise AssertionError("must not run")
    assert server.proposals == 1
    client.close()


def test_a_spent_grant_for_other_arguments_is_refused_and_closed_as_failed() -> None:
    server = Server(sign_digest="sha256:" + "2" * 64)
    client = server.client()
    ran: list[int] = []

    @client.gate(workflow="docs", kind="draft.write", target="kb")
    def draft(n: int) -> None:
        ran.append(n)

    with pytest.raises(GrantRefused, match="digest"):
        draft(1)
    assert ran == []
    assert client.flush_outcomes(5)
    assert server.seen[-1] == "POST /v1/outcomes"
    client.close()


async def test_async_refusal_reports_failed_in_the_background() -> None:
    server = Server(sign_digest="sha256:" + "3" * 64)
    outcome_bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/outcomes":
            outcome_bodies.extend(json.loads(request.content)["outcomes"])
        return server.handler(request)

    client = AsyncClient("http://signoff.test", "t", retry=FAST,
                         transport=httpx.MockTransport(handler))

    @client.gate(workflow="docs", kind="draft.write", target="kb")
    async def draft(n: int) -> None:
        raise AssertionError("must not run")

    with pytest.raises(GrantRefused):
        await draft(1)
    assert await client.flush_outcomes(5)
    [body] = outcome_bodies
    assert body["status"] == "failed" and body["detail"].startswith("not run")
    await client.aclose()


def test_an_outcome_that_cannot_be_sent_never_reaches_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outcomes_module, "BACKOFF", 0.001)
    server = Server(outcome_status=503)
    client = server.client()

    @client.gate(workflow="docs", kind="draft.write", target="kb")
    def draft(n: int) -> int:
        return n

    assert draft(5) == 5  # the caller has its result; the report goes on in the background
    assert client.flush_outcomes(5)
    attempts = [s for s in server.seen if s == "POST /v1/outcomes"]
    assert len(attempts) == outcomes_module.ATTEMPTS
    assert client.shared.unreported == {"act_1": {"status": "succeeded", "detail": "5"}}
    server.outcome_status = 200
    assert client.flush() == 1 and client.shared.unreported == {}
    client.close()
