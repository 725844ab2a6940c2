"""``Client`` on its blocking HTTP/1.1 transport: when it sends directly, what it sends, and
how lost connections and answers come out as the SDK's errors (``Unavailable`` and
``OutcomeUnknown`` exactly as the retry rules in ``signoff.client.transport`` say)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from sdk_helpers import KeyPair
from socket_server import Peer, Request, answer, echo_json, serve

from signoff.client import Client, OutcomeUnknown, RetryPolicy, Unavailable, compute_digest
from signoff.client.base import RETURN_MINIMAL
from signoff.client.http11_sync import HTTP11Transport

ONCE = RetryPolicy(attempts=1)
FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


def test_the_client_uses_it_unless_given_a_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client("http://signoff.test", "t")
    assert isinstance(client._http._transport, HTTP11Transport)
    assert client._direct is client._http._transport
    client.close()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    client = Client("http://signoff.test", "t")  # a proxy: through httpx's own pipeline
    assert client._direct is None
    client.close()
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = Client("http://signoff.test", "t", transport=mock)
    assert client._http._transport is mock and client._direct is None
    client.close()


def test_event_hooks_send_through_httpx_and_direct_requests_carry_the_same() -> None:
    seen: list[Request] = []
    hooked: list[httpx.Request] = []
    with serve(lambda peer: echo_json(peer, seen)) as srv:
        client = Client(srv.url + "/prefix/", "so_agent_t")
        client._send("POST", "/v1/x", json={"é": 1}, params={"timeout": 1.5, "q": "a b"},
                     headers=RETURN_MINIMAL)
        assert hooked == []  # direct: httpx's pipeline (and its hooks) never saw it
        client._http.event_hooks = {"request": [hooked.append], "response": []}
        client._send("POST", "/v1/x", json={"é": 1}, params={"timeout": 1.5, "q": "a b"},
                     headers=RETURN_MINIMAL)
        assert len(hooked) == 1
        client.close()
    direct, piped = seen
    assert direct.line == piped.line == b"POST /prefix/v1/x?timeout=1.5&q=a+b HTTP/1.1"
    assert direct.body == piped.body and json.loads(direct.body) == {"é": 1}
    assert direct.fields == piped.fields
    assert direct.fields[b"authorization"] == b"Bearer so_agent_t"
    assert direct.fields[b"content-type"] == b"application/json"
    assert direct.fields[b"prefer"] == b"return=minimal"


def test_close_closes_the_pooled_connections() -> None:
    with serve(echo_json) as srv:
        client = Client(srv.url, "t")
        assert client._send("GET", "/x") == {"ok": True}
        assert client._send("GET", "/x") == {"ok": True}
        assert len(srv.connections) == 1 and not srv.connections[0].hung_up.wait(0.1)
        client.close()
        assert srv.connections[0].hung_up.wait(2)


def test_a_connection_the_server_dropped_while_idle_is_replaced_without_a_retry() -> None:
    def once(peer: Peer) -> None:
        peer.read_request()
        peer.send(answer(b'{"n": 1}'))  # then close, as a server's keep-alive timer does

    with serve(once) as srv:
        client = Client(srv.url, "t", retry=ONCE)  # no retry could hide a failed reuse
        assert client._send("GET", "/x") == {"n": 1}
        time.sleep(0.05)
        assert client._send("GET", "/x") == {"n": 1}
        assert len(srv.connections) == 2
        client.close()


def lose_second_request(log: list[bytes]) -> Any:
    """Answer a connection's first request, then drop the next one unanswered (as a server
    restarting under a reused connection does): it may or may not have been processed."""
    def handler(peer: Peer) -> None:
        count = 0
        while (req := peer.read_request()) is not None:
            log.append(req.line)
            count += 1
            if count == 2:
                return
            peer.send(answer(b'{"ok": true}'))
    return handler


def test_an_answer_lost_on_a_reused_connection_follows_the_retry_rules() -> None:
    log: list[bytes] = []
    with serve(lose_second_request(log)) as srv:
        client = Client(srv.url, "t", retry=FAST)
        assert client._send("GET", "/warm") == {"ok": True}
        assert client._send("GET", "/again") == {"ok": True}  # safe: retried, new connection
        assert log == [b"GET /warm HTTP/1.1", b"GET /again HTTP/1.1", b"GET /again HTTP/1.1"]
        client._send("GET", "/warm")  # the second connection's first request
        log.clear()
        with pytest.raises(OutcomeUnknown, match="Server disconnected without sending"):
            client.redeem("not-a-grant", "sha256:x")  # not idempotent: sent once, not retried
        assert log == [b"POST /v1/grants/redeem HTTP/1.1"]
        client.close()


def test_no_answer_is_unavailable_and_a_refused_connection_is_retried_even_when_unsent(
) -> None:
    log: list[bytes] = []

    def hang_up(peer: Peer) -> None:
        req = peer.read_request()
        if req is not None:
            log.append(req.line)

    with serve(hang_up) as srv:
        client = Client(srv.url, "t", retry=ONCE)
        with pytest.raises(Unavailable) as lost:
            client._send("GET", "/x")
        assert type(lost.value) is Unavailable  # a read: nothing to be unsure about
        client.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", "t", retry=FAST)
    with pytest.raises(Unavailable, match="ConnectError") as refused:
        client.redeem("not-a-grant", "sha256:x")
    assert type(refused.value) is Unavailable  # never sent, so not OutcomeUnknown
    client.close()


def test_a_gated_function_does_not_run_when_signoff_hangs_up() -> None:
    log: list[bytes] = []

    def hang_up(peer: Peer) -> None:
        req = peer.read_request()
        if req is not None:
            log.append(req.line)

    ran: list[str] = []
    with serve(hang_up) as srv:
        client = Client(srv.url, "t", retry=FAST)

        @client.gate(workflow="refunds", kind="payments.send", target="cus_42")
        def refund(amount: int) -> None:
            ran.append("ran")

        with pytest.raises(Unavailable):
            refund(120)
        client.close()
    assert ran == [] and log == [b"POST /v1/actions HTTP/1.1"] * 3


def test_read_timeouts_the_client_default_and_a_long_polls_own() -> None:
    def slow(peer: Peer) -> None:
        while peer.read_request() is not None:
            time.sleep(0.5)
            peer.send(answer(b'{"late": true}'))

    with serve(slow) as srv:
        client = Client(srv.url, "t", timeout=0.2, retry=ONCE)
        with pytest.raises(Unavailable, match="ReadTimeout"):
            client._send("GET", "/x")
        assert client._send("GET", "/x", read_timeout=3) == {"late": True}  # as wait() asks
        client.close()


class Signoff:
    """Enough of signoff for allowed gated calls: proposals answer ``executing`` with a
    redeemed, signed grant; outcomes are recorded with the headers they came with."""

    def __init__(self) -> None:
        self.key = KeyPair()
        self.outcomes: list[Request] = []
        self.requests = 0
        self.lock = threading.Lock()

    def __call__(self, peer: Peer) -> None:
        while (req := peer.read_request()) is not None:
            with self.lock:
                self.requests += 1
            path = req.line.split(b" ")[1].decode()
            if path == "/.well-known/jwks.json":
                body: dict[str, Any] = self.key.jwks()
            elif path == "/v1/actions":
                p = json.loads(req.body)
                digest = compute_digest(p["workflow"], p["kind"], p["target"], p["params"])
                action_id = f"act_{p['params']['n']}"
                token = self.key.grant(digest=digest, workflow=p["workflow"], kind=p["kind"],
                                       target=p["target"], action_id=action_id)
                body = {"id": action_id, "status": "executing", "tier": "low", "mode": "allow",
                        "digest": digest, "workflow": p["workflow"], "kind": p["kind"],
                        "target": p["target"], "params": p["params"], "reasons": [],
                        "grant": {"jti": action_id, "state": "redeemed", "expires_at": None,
                                  "token": token}}
            else:  # /v1/outcomes: a batch, one result per report
                reports = json.loads(req.body)["outcomes"]
                with self.lock:
                    self.outcomes.append(req)
                body = {"results": [{"action_id": r["action_id"], "status": r["status"]}
                                    for r in reports]}
            peer.send(answer(json.dumps(body).encode(), status=b"201 Created"))


def test_gated_calls_and_the_outcome_sender_share_the_pool() -> None:
    signoff = Signoff()
    with serve(signoff) as srv:
        client = Client(srv.url, "so_agent_t", retry=FAST)

        @client.gate(workflow="docs", kind="draft.write", target="kb")
        def draft(n: int) -> int:
            return n * 2

        assert [draft(n) for n in range(30)] == [n * 2 for n in range(30)]
        assert client.flush_outcomes(5)
        client.close()
        # The caller's thread and the sender's thread never needed more than two at once, and
        # every request after the first on each rode an open connection.
        assert signoff.requests == 1 + 30 + len(signoff.outcomes)  # JWKS, proposals, batches
        assert len(srv.connections) <= 2
        assert all(peer.hung_up.wait(2) for peer in srv.connections)  # closed by close()
    assert all(r.line == b"POST /v1/outcomes HTTP/1.1" for r in signoff.outcomes)
    reported = sorted(int(o["action_id"].removeprefix("act_")) for r in signoff.outcomes
                      for o in json.loads(r.body)["outcomes"])
    assert reported == list(range(30))  # each once, in batches
