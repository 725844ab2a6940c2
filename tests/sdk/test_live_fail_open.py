"""Fail-open end to end: a low call runs while signoff is down, then the journal reaches the
real server and is audited there."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import Live

from signoff.client import Client, FailOpenJournal, RetryPolicy, TierMemory, Unavailable


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"   # nothing listens there once the socket is closed


def test_fail_open_run_is_flushed_to_the_server_and_audited(
        live: Live, tmp_path: Path) -> None:
    memory = TierMemory()
    journal = tmp_path / "fail-open.jsonl"
    up = Client(live.url, live.agent_token, tier_memory=memory)
    ran: list[str] = []

    def options() -> dict[str, Any]:
        return {"workflow": live.workflow, "kind": "draft.write", "target": "kb/faq",
                "fail_open_for": ("low",)}

    def draft(title: str) -> str:
        ran.append(title)
        return f"draft:{title}"

    try:
        assert up.gate(**options())(draft)("online") == "draft:online"   # remembers "low"
    finally:
        up.close()
    down = Client(dead_url(), live.agent_token, tier_memory=memory, fail_open_journal=journal,
                  retry=RetryPolicy(attempts=1))
    try:
        assert down.gate(**options())(draft)("offline") == "draft:offline"
        # A pair the server never classified fails closed even with fail_open_for.
        with pytest.raises(Unavailable):
            down.gate(workflow=live.workflow, kind="draft.other", target="kb",
                      fail_open_for=("low",))(draft)("never")
    finally:
        down.close()
    assert ran == ["online", "offline"]
    [pending] = FailOpenJournal(journal).pending()
    assert pending.outcome == {"status": "succeeded", "detail": "'draft:offline'"}

    back = Client(live.url, live.agent_token, fail_open_journal=journal)
    try:
        assert back.flush() == 1 and FailOpenJournal(journal).pending() == []
        assert back.flush() == 0   # nothing left, nothing sent twice
    finally:
        back.close()
    items = live.call(live.admin_token, "GET", "/v1/actions",
                      params={"workflow": live.workflow, "status": "succeeded"})["items"]
    [item] = [i for i in items if i["idempotency_key"] == pending.idempotency_key]
    record = live.call(live.admin_token, "GET", f"/v1/actions/{item['id']}")
    assert record["params"] == {"title": "offline"} and record["tier"] == "low"
    assert record["requirements"]["fail_open"] is True and record["grant"] is None
    assert record["outcome"]["detail"] == "'draft:offline'"
    [event] = [e for e in record["timeline"] if e["type"] == "action.fail_open"]
    assert event["data"]["remembered_tier"] == "low" and event["data"]["post_review"] is False
