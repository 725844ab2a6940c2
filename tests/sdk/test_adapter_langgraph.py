"""LangGraph adapter against a real signoff server, a real StateGraph/ToolNode and a scripted
fake chat model (no network)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("langgraph")

from conftest import Live  # noqa: E402
from langchain_core.language_models.fake_chat_models import (  # noqa: E402
    FakeMessagesListChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import BaseTool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode, tools_condition  # noqa: E402
from langgraph.types import Command  # noqa: E402

from signoff.client import Client  # noqa: E402
from signoff.client.adapters.langgraph import (  # noqa: E402
    gated_tool,
    interrupting_tool,
    pending_approvals,
    wait_for_decisions,
)


def scripted(tool: str, args: dict[str, Any]) -> tuple[FakeMessagesListChatModel, str]:
    call_id = f"call_{uuid.uuid4().hex[:12]}"
    model = FakeMessagesListChatModel(responses=[
        AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": call_id,
                                           "type": "tool_call"}]),
        AIMessage(content="all done")])
    return model, call_id


def graph_of(model: FakeMessagesListChatModel, tool: BaseTool, checkpointer: Any = None) -> Any:
    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", ToolNode([tool]))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: END})
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=checkpointer)


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def notes(ran: list[dict[str, Any]]) -> Callable[..., str]:
    def draft_note(title: str, body: str = "") -> str:
        """Write an internal draft note."""
        ran.append({"title": title, "body": body})
        return f"note:{title}"
    return draft_note


def refunds(ran: list[dict[str, Any]]) -> Callable[..., str]:
    def refund(customer: str, amount: int) -> str:
        """Refund a customer."""
        ran.append({"customer": customer, "amount": amount})
        return f"refunded {amount} to {customer}"
    return refund


def test_a_low_tool_call_runs_through_the_gate(live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="draft.write",
                       target=lambda title: f"kb/{title}")
    tool = gated_tool(gate, notes(ran))
    assert set(tool.tool_call_schema.model_json_schema()["properties"]) == {"title", "body"}
    model, call_id = scripted("draft_note", {"title": "hours"})
    result = graph_of(model, tool).invoke({"messages": [HumanMessage("write it")]})
    assert ran == [{"title": "hours", "body": ""}]
    [message] = tool_messages(result)
    assert message.content == "note:hours" and message.tool_call_id == call_id
    assert result["messages"][-1].content == "all done"
    assert client.flush_outcomes(10)  # outcomes go out in the background
    [item] = live.call(live.admin_token, "GET", "/v1/actions",
                       params={"workflow": live.workflow, "status": "succeeded"})["items"][:1]
    record = live.call(live.admin_token, "GET", f"/v1/actions/{item['id']}")
    assert record["idempotency_key"] == f"lg-{call_id}"
    assert record["params"] == {"title": "hours", "body": ""}
    assert record["outcome"]["detail"] == "'note:hours'"


def test_a_rejected_call_tells_the_model_and_never_runs(
        live: Live, agent: Callable[..., Client]) -> None:
    ran: list[dict[str, Any]] = []
    gate = agent().gate(workflow=live.workflow, kind="payments.send",
                        target=lambda customer: customer)
    model, _ = scripted("refund", {"customer": "cus_9", "amount": 40})
    graph = graph_of(model, gated_tool(gate, refunds(ran)))
    with ThreadPoolExecutor(1) as pool:
        decided = pool.submit(live.decide_next, "reject")
        result = graph.invoke({"messages": [HumanMessage("refund")]})
    action_id = decided.result()
    assert ran == []
    [message] = tool_messages(result)
    assert message.status == "error"
    assert message.content.startswith(f"signoff: not run (rejected, action {action_id})")


def test_interrupt_surfaces_the_pending_approval_and_resumes_on_decision(
        live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer,
                       summary=lambda customer, amount: f"Refund {amount} to {customer}")
    model, call_id = scripted("refund", {"customer": "cus_7", "amount": 12})
    graph = graph_of(model, interrupting_tool(gate, refunds(ran)), InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}

    first = graph.invoke({"messages": [HumanMessage("refund")]}, config)
    [(interrupt_id, payload)] = pending_approvals(first["__interrupt__"]).items()
    assert payload["status"] == "pending" and payload["tier"] == "high"
    assert payload["summary"] == "Refund 12 to cus_7" and payload["tool"] == "refund"
    action_id = payload["action_id"]
    assert ran == [] and action_id in live.pending_ids()

    # A resume value is only a wake-up call: without a human decision it pauses again.
    again = graph.invoke(Command(resume={interrupt_id: {"status": "approved"}}), config)
    assert ran == [] and pending_approvals(again["__interrupt__"])

    live.review(action_id, "approve")
    state = graph.get_state(config)
    resume = wait_for_decisions(client, state.interrupts, timeout=10)
    assert [v["status"] for v in resume.values()] == ["approved"]
    final = graph.invoke(Command(resume=resume), config)
    assert ran == [{"customer": "cus_7", "amount": 12}]
    assert tool_messages(final)[-1].content == "refunded 12 to cus_7"
    assert client.flush_outcomes(10)
    record = live.call(live.admin_token, "GET", f"/v1/actions/{action_id}")
    assert record["status"] == "succeeded" and record["idempotency_key"] == f"lg-{call_id}"
    assert len(live.call(live.admin_token, "GET", "/v1/actions",
                         params={"workflow": live.workflow, "status": "pending"})["items"]) == 0


def test_interrupt_then_reject_never_runs(live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer)
    model, _ = scripted("refund", {"customer": "cus_8", "amount": 99})
    graph = graph_of(model, interrupting_tool(gate, refunds(ran)), InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    first = graph.invoke({"messages": [HumanMessage("refund")]}, config)
    [payload] = pending_approvals(first["__interrupt__"]).values()
    live.review(payload["action_id"], "reject")
    final = graph.invoke(Command(resume=wait_for_decisions(client, first["__interrupt__"])),
                         config)
    assert ran == []
    assert tool_messages(final)[-1].content.startswith("signoff: not run (rejected")
