"""What is sent later: fail-open runs and outcomes that could not be reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from signoff.client import Client, FailOpenJournal, FailOpenRecord, RetryPolicy

FAST = RetryPolicy(attempts=1)


def journal_with_one(tmp_path: Path) -> FailOpenJournal:
    journal = FailOpenJournal(tmp_path / "j.jsonl")
    journal.put(FailOpenRecord(
        idempotency_key="sdk-1", workflow="docs", kind="draft.write", target="kb",
        params={"title": "x"}, digest="sha256:d", remembered_tier="low",
        unavailable_reason="connection refused", started_at="2026-01-01T00:00:00Z",
        outcome={"status": "succeeded", "detail": "ok"}))
    return journal


def test_fail_open_runs_are_kept_until_the_server_takes_them(tmp_path: Path) -> None:
    journal = journal_with_one(tmp_path)
    answers = [httpx.Response(404, json={"code": "not_found", "detail": "no such route"}),
               httpx.Response(201, json={})]
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/fail-open"
        bodies.append(json.loads(request.content))
        return answers.pop(0)

    client = Client("http://signoff.test", "t", retry=FAST, fail_open_journal=journal,
                    transport=httpx.MockTransport(handler))
    assert client.flush() == 0 and len(FailOpenJournal(tmp_path / "j.jsonl").pending()) == 1
    assert client.flush() == 1 and FailOpenJournal(tmp_path / "j.jsonl").pending() == []
    assert bodies[1]["idempotency_key"] == "sdk-1" and bodies[1]["remembered_tier"] == "low"


def test_unreported_outcome_is_retried_on_flush() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(503, json={"code": "unavailable", "detail": "db down"})
        return httpx.Response(200, json={
            "id": "act_1", "status": "succeeded", "tier": "low", "mode": "allow",
            "digest": "sha256:d", "workflow": "w", "kind": "k", "target": "t", "params": {},
            "outcome": {"status": "succeeded", "detail": "ok"}})

    client = Client("http://signoff.test", "t", retry=FAST, transport=httpx.MockTransport(handler))
    client.shared.note_unreported("act_1", "succeeded", "ok")
    assert client.flush() == 0 and "act_1" in client.shared.unreported
    assert client.flush() == 1 and client.shared.unreported == {}
    assert calls == ["/v1/actions/act_1/outcome"] * 2
