"""The gate against the real server: allowed, held then approved, rejected, denied, suspended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Live

from signoff.client import AsyncClient, Client, Denied, Rejected, current_action
from signoff.errors import AgentSuspended, Cancelled

Agent = Callable[..., Client]

pytestmark = pytest.mark.e2e


def test_allowed_call_runs_and_reports_its_outcome(live: Live, agent: Agent) -> None:
    client = agent()
    seen = []

    @client.gate(workflow=live.workflow, kind="draft.write", target=lambda title: title,
                 summary=lambda title: f"Draft {title}")
    def draft(title: str, words: int = 100) -> str:
        action = current_action()
        seen.append(action.id if action else None)
        return f"{title}: {words} words"

    assert draft("release notes") == "release notes: 100 words"
    assert client.flush_outcomes(10)  # outcomes go out in the background
    record = client.get(seen[0])  # type: ignore[arg-type]
    assert record.status == "succeeded" and record.tier == "low"
    assert record.params == {"title": "release notes", "words": 100}
    assert record.outcome is not None and "100 words" in record.outcome.detail
    assert record.grant is not None and record.grant.state == "redeemed"


def test_held_call_waits_for_a_human_then_runs(live: Live, agent: Agent) -> None:
    client = agent()
    ran = threading.Event()

    @client.gate(workflow=live.workflow, kind="payments.send", target=lambda customer: customer,
                 summary="Refund the duplicate charge",
                 impact={"reversible": False, "external": True, "description": "money out"})
    def refund(customer: str, amount: int) -> str:
        ran.set()
        return "refunded"

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(refund, "cus_42", 120)
        time.sleep(0.3)
        assert not ran.is_set()  # held: nothing runs before the human decides
        action_id = live.decide_next("approve")
        assert future.result(timeout=30) == "refunded"
    assert client.flush_outcomes(10)
    record = client.get(action_id)
    assert record.status == "succeeded"
    assert [r.verdict for r in record.reviews] == ["approve"]


def test_rejected_call_never_runs(live: Live, agent: Agent) -> None:
    client = agent()
    ran = []

    @client.gate(workflow=live.workflow, kind="payments.send", target="cus_7")
    def refund(amount: int) -> None:
        ran.append(amount)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(refund, 5000)
        action_id = live.decide_next("reject")
        with pytest.raises(Rejected) as info:
            future.result(timeout=30)
    assert info.value.action_id == action_id and ran == []


def test_denied_call_raises_with_reasons(live: Live, agent: Agent) -> None:
    client = agent()
    ran = []

    @client.gate(workflow=live.workflow, kind="secrets.read", target=lambda path: path)
    def read_secret(path: str) -> None:
        ran.append(path)

    with pytest.raises(Denied) as info:
        read_secret("prod/db-password")
    assert ran == [] and info.value.action_id and info.value.reasons
    assert agent().get(info.value.action_id).status == "denied"


def test_suspended_agent_cannot_run_anything(live: Live, agent: Agent) -> None:
    agent_id, token = live.new_agent()
    live.call(live.admin_token, "POST", f"/v1/agents/{agent_id}/suspend",
              json={"reason": "kill switch test"})
    client = agent(token)
    ran = []

    @client.gate(workflow=live.workflow, kind="draft.write", target="doc")
    def draft() -> None:
        ran.append(1)

    with pytest.raises(AgentSuspended):
        draft()
    assert ran == []


def test_suspending_while_pending_cancels_the_wait(live: Live, agent: Agent) -> None:
    agent_id, token = live.new_agent()
    client = agent(token)

    @client.gate(workflow=live.workflow, kind="payments.send", target="cus_9")
    def refund(amount: int) -> None:
        raise AssertionError("must not run")

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(refund, 10)
        deadline = time.monotonic() + 10
        while not live.pending_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        live.call(live.admin_token, "POST", f"/v1/agents/{agent_id}/suspend",
                  json={"reason": "stop"})
        with pytest.raises(Cancelled):
            future.result(timeout=30)


def test_giving_up_waiting_cancels_the_action(live: Live, agent: Agent) -> None:
    client = agent()
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(Cancelled) as info, gate.call(customer="cus_slow", amount=1):
        raise AssertionError("must not run")
    assert time.monotonic() - started < 10
    assert client.get(info.value.action_id).status == "cancelled"  # type: ignore[arg-type]


def test_failure_inside_the_function_is_reported_and_reraised(live: Live, agent: Agent) -> None:
    client = agent()
    gate = client.gate(workflow=live.workflow, kind="draft.write", target="doc")
    with pytest.raises(ZeroDivisionError), gate.call(n=1) as ticket:
        _ = 1 / 0
    assert client.flush_outcomes(10)
    record = client.get(ticket.action_id)  # type: ignore[arg-type]
    assert record.status == "failed" and record.outcome is not None
    assert "ZeroDivisionError" in record.outcome.detail


async def test_async_gate_waits_without_blocking_the_loop(live: Live) -> None:
    client = AsyncClient(live.url, live.agent_token)

    @client.gate(workflow=live.workflow, kind="payments.send", target="cus_async")
    async def refund(amount: int) -> int:
        return amount

    with ThreadPoolExecutor(1) as pool:
        decided = pool.submit(live.decide_next, "approve")
        assert await refund(77) == 77
        decided.result(timeout=30)
    await client.aclose()


async def test_sync_client_gates_async_functions_through_its_twin(live: Live,
                                                                   agent: Agent) -> None:
    client = agent()

    @client.gate(workflow=live.workflow, kind="draft.write", target="twin")
    async def draft(n: int) -> int:
        return n + 1

    assert await draft(1) == 2
    await client.async_twin().aclose()
