"""OpenAI Agents SDK (``openai-agents``) function tools approved through signoff.

The Agents SDK pauses a run for human approval when a tool's ``needs_approval`` says so: the
result carries ``interruptions`` and the application calls ``RunState.approve`` or
``RunState.reject`` before running again. This adapter lets signoff drive that mechanism:

- ``gated_function_tool(gate, fn)`` builds a ``FunctionTool`` whose ``needs_approval`` proposes
  the model's arguments to signoff (idempotency key from the tool-call id) and asks for approval
  exactly when the policy holds the call (status ``pending``). Its execution is a gated call:
  it verifies and redeems the grant for these exact arguments, runs ``fn`` and reports the
  outcome. A refused call answers the model with a short message and ``fn`` never runs; an
  approval given in the Agents SDK alone is not enough, since the tool still needs signoff's
  grant.
- ``decide_interruptions(state, agent)`` waits (long-poll) for signoff's decision on every
  pending signoff interruption and approves or rejects it in the ``RunState``.
- ``run_gated(agent, input)`` is ``Runner.run`` that resolves signoff interruptions until the run
  finishes (other interruptions are returned to the caller untouched).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from agents import Agent, FunctionTool, RunContextWrapper, Runner, RunResult, RunState
from agents import function_tool as _function_tool
from agents.items import ToolApprovalItem
from agents.tool import default_tool_error_function
from agents.tool_context import ToolContext

from signoff.client.adapters import prepare_keyed, refusal_message
from signoff.client.gate import Gate, GateCall, Prepared
from signoff.client.models import ActionRecord
from signoff.errors import NotApproved, SignoffError

__all__ = ["decide_interruptions", "gate_of", "gated_function_tool", "run_gated"]

_GATE_ATTR = "_signoff_gate"


def _binding(tool: Any) -> tuple[Gate, str] | None:
    bound = getattr(tool, _GATE_ATTR, None)
    return bound if isinstance(bound, tuple) and isinstance(bound[0], Gate) else None


def gate_of(tool: Any) -> Gate | None:
    """The signoff gate behind a tool built by ``gated_function_tool`` (else ``None``)."""
    bound = _binding(tool)
    return bound[0] if bound is not None else None


def _prepare(tool: FunctionTool, params: dict[str, Any], call_id: str) -> Prepared:
    bound = _binding(tool)
    assert bound is not None
    gate, prefix = bound
    return prepare_keyed(gate, params, f"{prefix}-{call_id}", default_target=tool.name)


async def _propose(tool: FunctionTool, params: dict[str, Any], call_id: str) -> ActionRecord:
    gate = gate_of(tool)
    assert gate is not None
    prepared = _prepare(tool, params, call_id)
    return await gate.client.async_twin().propose(**prepared.propose_kwargs())


def gated_function_tool(gate: Gate, fn: Callable[..., Any], *, name: str | None = None,
                        description: str | None = None, key_prefix: str = "oai",
                        strict_mode: bool = True) -> FunctionTool:
    """A ``FunctionTool`` for ``fn`` whose approval and execution go through ``gate``."""
    base = _function_tool(fn, name_override=name, description_override=description,
                          failure_error_function=None, strict_mode=strict_mode)
    holder: list[FunctionTool] = []

    async def needs_approval(ctx: RunContextWrapper[Any], params: dict[str, Any],
                             call_id: str) -> bool:
        record = await _propose(holder[0], dict(params), call_id)
        return record.status == "pending"

    async def invoke(ctx: ToolContext[Any], input_json: str) -> Any:
        params = json.loads(input_json or "{}")
        if not isinstance(params, dict):
            return "signoff: tool arguments must be a JSON object"
        call = GateCall(gate, _prepare(holder[0], params, ctx.tool_call_id))
        try:
            async with call as ticket:
                ticket.result = await base.on_invoke_tool(ctx, input_json)
        except NotApproved as exc:
            return refusal_message(exc)
        except SignoffError:  # unreachable, a bad grant: fail closed, and loudly
            raise
        except Exception as exc:  # the outcome was reported as failed; tell the model
            return default_tool_error_function(ctx, exc)
        return ticket.result

    tool = FunctionTool(name=base.name, description=base.description,
                        params_json_schema=base.params_json_schema, on_invoke_tool=invoke,
                        strict_json_schema=base.strict_json_schema,
                        needs_approval=needs_approval)
    setattr(tool, _GATE_ATTR, (gate, key_prefix))
    holder.append(tool)
    return tool


def _raw(item: ToolApprovalItem, key: str) -> Any:
    raw = item.raw_item
    return raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)


def _signoff_tools(agent: Agent[Any]) -> dict[str, FunctionTool]:
    return {t.name: t for t in agent.tools
            if isinstance(t, FunctionTool) and gate_of(t) is not None}


async def decide_interruptions(state: RunState[Any], agent: Agent[Any], *,
                               interruptions: Iterable[ToolApprovalItem] | None = None,
                               timeout: float | None = None) -> list[ToolApprovalItem]:
    """Approve or reject, in ``state``, every interruption signoff has decided.

    Waits for each pending signoff action (long-poll, ``timeout`` per action). Returns the
    interruptions left undecided: other tools' approvals, and actions still pending.
    """
    tools = _signoff_tools(agent)
    left: list[ToolApprovalItem] = []
    for item in (state.get_interruptions() if interruptions is None else interruptions):
        tool = tools.get(item.tool_name or "")
        call_id, arguments = _raw(item, "call_id"), _raw(item, "arguments")
        if tool is None or not call_id:
            left.append(item)
            continue
        params = json.loads(arguments or "{}")
        record = await _propose(tool, params, str(call_id))
        if record.status == "pending":
            gate = gate_of(tool)
            assert gate is not None
            record = await gate.client.async_twin().wait(record.id, timeout=timeout)
        if record.runnable:
            state.approve(item)
        elif record.status == "pending":
            left.append(item)
        else:
            detail = "; ".join(r.message or r.rule_id for r in record.reasons)
            state.reject(item, rejection_message=(
                f"signoff: not run ({record.status}, action {record.id})"
                + (f": {detail}" if detail else "")))
    return left


async def run_gated(agent: Agent[Any], input: Any, *, timeout: float | None = None,
                    max_rounds: int = 20, **run_kwargs: Any) -> RunResult:
    """``Runner.run`` that lets signoff decide its tools' approvals until the run finishes.

    Returns early (with ``result.interruptions`` set) when an interruption is not signoff's or
    a signoff action is still pending after ``timeout``.
    """
    result = await Runner.run(agent, input, **run_kwargs)
    for _ in range(max_rounds):
        if not result.interruptions:
            return result
        state = result.to_state()
        if await decide_interruptions(state, result.last_agent, timeout=timeout):
            return result
        result = await Runner.run(result.last_agent, state, **run_kwargs)
    return result
