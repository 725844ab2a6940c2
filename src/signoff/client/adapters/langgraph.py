"""LangChain / LangGraph tools whose every call goes through a signoff gate.

Two flavours, both thin layers over ``Gate``:

``gated_tool(gate, fn)``
    A ``StructuredTool`` (usable with ``langgraph.prebuilt.ToolNode`` or ``create_react_agent``)
    whose call is the gated call: it proposes the model's arguments, waits for a human if the
    policy holds it, verifies and redeems the grant, runs ``fn`` and reports the outcome. If
    signoff refuses (denied, rejected, expired, cancelled) the tool answers the model with a
    short message instead and ``fn`` never runs. ``Unavailable`` propagates (fail closed).

``interrupting_tool(gate, fn)``
    Does not block the graph while a human looks: a held call raises a LangGraph ``interrupt``
    carrying ``{"signoff": {"action_id", "status": "pending", ...}}``, so the graph pauses (it
    needs a checkpointer) and the application decides when to resume. ``pending_approvals``
    lists those interrupts and ``wait_for_decisions`` blocks until signoff has decided them and
    returns the ``Command(resume=...)`` mapping. The resume value only wakes the tool up: on
    resume the tool asks signoff again, and runs only with a grant for these exact arguments.

The idempotency key of each call is derived from the model's tool-call id, so the re-executed
node finds the same action instead of proposing a second one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, ToolException
from langchain_core.tools.base import create_schema_from_function
from langgraph.types import Interrupt, interrupt
from pydantic import create_model

from signoff.client.adapters import prepare_keyed, refusal_message
from signoff.client.gate import Gate, GateCall
from signoff.client.models import ActionRecord
from signoff.client.sync import Client
from signoff.errors import NotApproved

__all__ = ["INTERRUPT_KEY", "gated_tool", "interrupting_tool", "pending_approvals",
           "wait_for_decisions"]

INTERRUPT_KEY = "signoff"
_CALL_ID = "tool_call_id"


def _schema(name: str, fn: Callable[..., Any]) -> Any:
    """The tool's arguments (from ``fn``) plus the injected tool-call id."""
    base: Any = create_schema_from_function(f"{name}_args", fn)
    field: Any = (Annotated[str, InjectedToolCallId], ...)
    return create_model(f"{name}_signoff_args", __base__=base, **{_CALL_ID: field})


def _split(kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    call_id = str(kwargs.pop(_CALL_ID, "") or "")
    if not call_id:
        raise ToolException("signoff: the tool must be called with a tool-call id "
                            "(run it through a ToolNode or invoke it with a ToolCall)")
    return call_id, kwargs


def _describe(fn: Callable[..., Any], name: str | None, description: str | None
              ) -> tuple[str, str]:
    tool_name = name or fn.__name__
    text = description or inspect.getdoc(fn) or f"{tool_name} (approved through signoff)"
    return tool_name, text


def gated_tool(gate: Gate, fn: Callable[..., Any], *, name: str | None = None,
               description: str | None = None, key_prefix: str = "lg") -> BaseTool:
    """A LangChain tool running ``fn`` only with a signoff grant for the model's arguments."""
    tool_name, text = _describe(fn, name, description)
    default_target = getattr(fn, "__qualname__", None)

    def prepared_call(kwargs: dict[str, Any]) -> tuple[GateCall, dict[str, Any]]:
        call_id, params = _split(kwargs)
        prepared = prepare_keyed(gate, gate.bind(fn, (), params), f"{key_prefix}-{call_id}",
                                 default_target=default_target)
        return GateCall(gate, prepared), params

    def run(**kwargs: Any) -> Any:
        call, params = prepared_call(kwargs)
        try:
            with call as ticket:
                ticket.result = fn(**params)
        except NotApproved as exc:
            raise ToolException(refusal_message(exc)) from exc
        return ticket.result

    async def arun(**kwargs: Any) -> Any:
        call, params = prepared_call(kwargs)
        try:
            async with call as ticket:
                result = fn(**params)
                ticket.result = await result if inspect.isawaitable(result) else result
        except NotApproved as exc:
            raise ToolException(refusal_message(exc)) from exc
        return ticket.result

    return StructuredTool.from_function(
        func=None if inspect.iscoroutinefunction(fn) else run, coroutine=arun, name=tool_name,
        description=text, args_schema=_schema(tool_name, fn), handle_tool_error=True)


def _payload(record: ActionRecord, gate: Gate, tool_name: str) -> dict[str, Any]:
    return {INTERRUPT_KEY: {
        "action_id": record.id, "status": record.status, "tier": record.tier,
        "workflow": gate.workflow, "kind": gate.kind, "target": record.target,
        "summary": record.summary, "digest": record.digest, "tool": tool_name}}


def interrupting_tool(gate: Gate, fn: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None, key_prefix: str = "lg") -> BaseTool:
    """Like ``gated_tool``, but a held call pauses the graph with an ``interrupt``.

    Needs a sync ``Client`` gate (LangGraph interrupts are raised from the tool's thread);
    ``fn`` may be sync only. The graph must be compiled with a checkpointer.
    """
    if inspect.iscoroutinefunction(fn):
        raise TypeError("interrupting_tool wraps sync functions; use gated_tool for async ones")
    tool_name, text = _describe(fn, name, description)
    default_target = getattr(fn, "__qualname__", None)
    client = gate.client.sync_twin()

    def run(**kwargs: Any) -> Any:
        call_id, params = _split(kwargs)
        prepared = prepare_keyed(gate, gate.bind(fn, (), params), f"{key_prefix}-{call_id}",
                                 default_target=default_target)
        record = client.propose(**prepared.propose_kwargs())
        while record.status == "pending":
            # Paused here until the application resumes; the resume value is not trusted:
            # signoff is asked again, and a still-pending action interrupts once more.
            interrupt(_payload(record, gate, tool_name))
            record = client.get(record.id)
        try:
            with GateCall(gate, prepared) as ticket:
                ticket.result = fn(**params)
        except NotApproved as exc:
            raise ToolException(refusal_message(exc)) from exc
        return ticket.result

    return StructuredTool.from_function(
        func=run, name=tool_name, description=text, args_schema=_schema(tool_name, fn),
        handle_tool_error=True)


def pending_approvals(interrupts: Iterable[Interrupt]) -> dict[str, dict[str, Any]]:
    """The signoff interrupts among ``interrupts``: interrupt id -> its payload."""
    found: dict[str, dict[str, Any]] = {}
    for item in interrupts:
        value = item.value
        if isinstance(value, Mapping) and isinstance(value.get(INTERRUPT_KEY), Mapping):
            found[item.id] = dict(value[INTERRUPT_KEY])
    return found


def wait_for_decisions(client: Client, interrupts: Iterable[Interrupt], *,
                       timeout: float | None = None) -> dict[str, dict[str, Any]]:
    """Block (long-poll) until signoff decided every pending approval; the resume mapping.

    Use it as ``graph.invoke(Command(resume=wait_for_decisions(client, state.interrupts)),
    config)``. Actions still pending after ``timeout`` resume with status ``pending``, and
    their tools interrupt again.
    """
    resume: dict[str, dict[str, Any]] = {}
    for interrupt_id, payload in pending_approvals(interrupts).items():
        record = client.wait(str(payload["action_id"]), timeout=timeout)
        resume[interrupt_id] = {"action_id": record.id, "status": record.status}
    return resume
