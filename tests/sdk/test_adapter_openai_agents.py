"""OpenAI Agents SDK adapter against a real signoff server and a scripted fake ``Model``
(no network: a dummy API key, tracing off)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, Model, ModelResponse, Runner, set_tracing_disabled  # noqa: E402
from agents.usage import Usage  # noqa: E402
from conftest import Live  # noqa: E402
from openai.types.responses import (  # noqa: E402
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from signoff.client import Client  # noqa: E402
from signoff.client.adapters.openai_agents import (  # noqa: E402
    decide_interruptions,
    gate_of,
    gated_function_tool,
    run_gated,
)

os.environ.setdefault("OPENAI_API_KEY", "sk-test-not-used")
set_tracing_disabled(True)


class ScriptedModel(Model):
    """Answers each turn from a script: first a tool call, then a final text."""

    def __init__(self, tool: str, args: dict[str, Any]) -> None:
        self.call_id = f"call_{uuid.uuid4().hex[:12]}"
        self.seen: list[Any] = []
        self.turns: list[list[Any]] = [
            [ResponseFunctionToolCall(type="function_call", call_id=self.call_id, name=tool,
                                      arguments=json.dumps(args), id=f"fc_{uuid.uuid4().hex}",
                                      status="completed")],
            [ResponseOutputMessage(id=f"msg_{uuid.uuid4().hex}", type="message",
                                   role="assistant", status="completed",
                                   content=[ResponseOutputText(type="output_text",
                                                               text="all done",
                                                               annotations=[])])]]

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any,
                           tools: Any, output_schema: Any, handoffs: Any, tracing: Any, *,
                           previous_response_id: Any = None, conversation_id: Any = None,
                           prompt: Any = None, **_: Any) -> ModelResponse:
        self.seen.append(input)
        return ModelResponse(output=self.turns.pop(0), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")


def tool_outputs(model: ScriptedModel) -> list[str]:
    last = model.seen[-1]
    return [str(i.get("output")) for i in last if isinstance(i, dict)
            and i.get("type") == "function_call_output"]


def refunds(ran: list[dict[str, Any]]) -> Callable[..., str]:
    def refund(customer: str, amount: int) -> str:
        """Refund a customer."""
        ran.append({"customer": customer, "amount": amount})
        return f"refunded {amount} to {customer}"
    return refund


def draft(ran: list[dict[str, Any]]) -> Callable[..., str]:
    def draft_note(title: str) -> str:
        """Write an internal draft note."""
        ran.append({"title": title})
        return f"note:{title}"
    return draft_note


async def test_a_low_call_needs_no_approval_and_runs_with_a_grant(
        live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="draft.write",
                       target=lambda title: f"kb/{title}")
    tool = gated_function_tool(gate, draft(ran))
    assert gate_of(tool) is gate
    model = ScriptedModel("draft_note", {"title": "faq"})
    try:
        result = await Runner.run(Agent(name="bot", model=model, tools=[tool]), "go")
    finally:
        await client.async_twin().aclose()
    assert result.interruptions == [] and result.final_output == "all done"
    assert ran == [{"title": "faq"}] and tool_outputs(model) == ["note:faq"]
    items = live.call(live.admin_token, "GET", "/v1/actions",
                      params={"workflow": live.workflow, "status": "succeeded"})["items"]
    [record] = [i for i in items if i["idempotency_key"] == f"oai-{model.call_id}"]
    assert record["outcome"]["detail"] == "'note:faq'"


async def test_a_held_call_interrupts_and_signoff_approval_drives_it(
        live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer, timeout=1.0)
    bot = Agent(name="bot", model=ScriptedModel("refund", {"customer": "cus_1", "amount": 5}),
                tools=[gated_function_tool(gate, refunds(ran))])
    model = bot.model
    assert isinstance(model, ScriptedModel)
    try:
        first = await Runner.run(bot, "refund")
        [item] = first.interruptions
        assert item.tool_name == "refund" and ran == []
        [action_id] = live.pending_ids()

        # Approving only in the Agents SDK is not enough: the tool still needs signoff's grant,
        # so it waits for a human (here: up to the gate's timeout, then cancels).
        state = first.to_state()
        state.approve(item)
        forged = await Runner.run(bot, state)
        assert ran == [] and tool_outputs(model)[0].startswith("signoff: not run (cancelled")
        assert live.call(live.admin_token, "GET",
                         f"/v1/actions/{action_id}")["status"] == "cancelled"
    finally:
        await client.async_twin().aclose()
    assert forged.final_output == "all done"


async def test_run_gated_waits_for_the_human_then_runs_once(
        live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer)
    model = ScriptedModel("refund", {"customer": "cus_2", "amount": 7})
    bot = Agent(name="bot", model=model, tools=[gated_function_tool(gate, refunds(ran))])
    try:
        result, action_id = await asyncio.gather(
            run_gated(bot, "refund", timeout=30),
            asyncio.to_thread(live.decide_next, "approve"))
    finally:
        await client.async_twin().aclose()
    assert result.final_output == "all done" and result.interruptions == []
    assert ran == [{"customer": "cus_2", "amount": 7}]
    assert tool_outputs(model) == ["refunded 7 to cus_2"]
    record = live.call(live.admin_token, "GET", f"/v1/actions/{action_id}")
    assert record["status"] == "succeeded" and record["idempotency_key"] == \
        f"oai-{model.call_id}"


async def test_a_rejection_in_signoff_rejects_the_tool_call(
        live: Live, agent: Callable[..., Client]) -> None:
    client = agent()
    ran: list[dict[str, Any]] = []
    gate = client.gate(workflow=live.workflow, kind="payments.send",
                       target=lambda customer: customer)
    model = ScriptedModel("refund", {"customer": "cus_3", "amount": 9})
    bot = Agent(name="bot", model=model, tools=[gated_function_tool(gate, refunds(ran))])
    try:
        first = await Runner.run(bot, "refund")
        state = first.to_state()
        [action_id] = live.pending_ids()
        assert await decide_interruptions(state, bot, timeout=0.2) != []  # still pending
        live.review(action_id, "reject")
        assert await decide_interruptions(state, bot, timeout=10) == []
        final = await Runner.run(bot, state)
    finally:
        await client.async_twin().aclose()
    assert ran == [] and final.final_output == "all done"
    [output] = tool_outputs(model)
    assert output.startswith(f"signoff: not run (rejected, action {action_id})")
