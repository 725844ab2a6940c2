"""The background sender batches outcome reports: queued reports share one request, a lost
answer is reconciled per action, refusals are logged, and a bad answer is a ProtocolError."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx
import pytest

from signoff.client import Client, RetryPolicy
from signoff.errors import ProtocolError

FAST = RetryPolicy(attempts=1)


def _record(action_id: str, outcome: dict[str, str] | None) -> dict[str, Any]:
    return {"id": action_id, "status": "succeeded" if outcome else "executing", "tier": "low",
            "mode": "allow", "digest": "sha256:d", "workflow": "w", "kind": "k",
            "target": "t", "params": {}, "reasons": [], "outcome": outcome}


class Server:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.applied: dict[str, dict[str, str]] = {}
        self.lose_next_answer = False
        self.refuse: set[str] = set()
        self.uncommitted: set[str] = set()  # lost with the answer, as if never committed
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/outcomes":
            reports = json.loads(request.content)["outcomes"]
            with self.lock:
                self.batches.append(reports)
            results = []
            for r in reports:
                if r["action_id"] in self.refuse:
                    results.append({**r, "error": {"code": "conflict", "status": 409,
                                                   "detail": "the action is succeeded"}})
                else:
                    self.applied[r["action_id"]] = {"status": r["status"],
                                                    "detail": r["detail"]}
                    results.append({"action_id": r["action_id"], "status": r["status"]})
            if self.lose_next_answer:
                self.lose_next_answer = False
                for action_id in self.uncommitted:
                    self.applied.pop(action_id, None)
                raise httpx.ReadError("connection reset after the server committed")
            return httpx.Response(200, json={"results": results})
        if request.url.path.startswith("/v1/actions/"):
            action_id = request.url.path.split("/")[3]
            return httpx.Response(200, json=_record(action_id, self.applied.get(action_id)))
        return httpx.Response(500)

    def client(self) -> Client:
        return Client("http://signoff.test", "t", retry=FAST,
                      transport=httpx.MockTransport(self.handler))


def test_reports_queued_together_leave_in_one_request() -> None:
    server = Server()
    client = server.client()
    for i in range(10):
        client.report_outcome_later(f"act_{i}", "succeeded", str(i))
    assert client.flush_outcomes(5)
    assert len(server.batches) == 1 and [r["action_id"] for r in server.batches[0]] == [
        f"act_{i}" for i in range(10)]
    assert server.applied["act_3"] == {"status": "succeeded", "detail": "3"}
    client.close()


def test_a_lost_answer_sends_again_only_what_the_server_did_not_record() -> None:
    server = Server()
    client = server.client()
    server.lose_next_answer = True        # both recorded, then the answer is lost
    assert client.send_outcomes([("act_1", "succeeded", "x"), ("act_2", "failed", "y")]) == {}
    assert len(server.batches) == 1       # both have outcomes: nothing sent again

    server.lose_next_answer, server.uncommitted = True, {"act_4"}
    assert client.send_outcomes([("act_3", "succeeded", "x"), ("act_4", "failed", "y")]) == {}
    assert [r["action_id"] for r in server.batches[-1]] == ["act_4"]  # only the missing one
    assert len(server.batches) == 3
    assert server.applied["act_4"] == {"status": "failed", "detail": "y"}
    client.close()


def test_refusals_are_logged_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    server = Server()
    server.refuse = {"act_2"}
    client = server.client()
    with caplog.at_level(logging.WARNING, logger="signoff.client"):
        client.report_outcome_later("act_1", "succeeded", "")
        client.report_outcome_later("act_2", "succeeded", "")
        assert client.flush_outcomes(5)
    assert sum(len(b) for b in server.batches) == 2
    assert "outcome of act_2 refused: the action is succeeded" in caplog.text
    assert client.shared.unreported == {}
    client.close()


@pytest.mark.parametrize("answer", [{}, {"results": "x"}, {"results": []},
                                    {"results": [{"action_id": "act_9", "status": "failed"}]}])
def test_an_answer_that_does_not_match_the_batch_is_a_protocol_error(answer: Any) -> None:
    client = Client("http://signoff.test", "t", retry=FAST, transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=answer)))
    with pytest.raises(ProtocolError, match="does not match"):
        client.send_outcomes([("act_1", "succeeded", "")])
    client.close()


def test_a_server_without_the_batch_endpoint_gets_one_request_per_report() -> None:
    seen: list[str] = []

    def older_server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/v1/outcomes":
            return httpx.Response(404, json={"code": "not_found", "status": 404,
                                             "title": "not found", "detail": "Not Found"},
                                  headers={"content-type": "application/problem+json"})
        if request.url.path == "/v1/actions/act_2/outcome":
            return httpx.Response(409, json={"code": "conflict", "detail": "already reported"})
        return httpx.Response(200, json={"id": "act_1", "status": "succeeded"})

    client = Client("http://signoff.test", "t", retry=FAST,
                    transport=httpx.MockTransport(older_server))
    refused = client.send_outcomes([("act_1", "succeeded", ""), ("act_2", "failed", "")])
    assert seen == ["/v1/outcomes", "/v1/actions/act_1/outcome", "/v1/actions/act_2/outcome"]
    assert refused == {"act_2": "already reported"}
    client.close()
