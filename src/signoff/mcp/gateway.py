"""The gate: every ``tools/call`` is proposed to signoff as the calling agent, and the upstream
call is made only with a redeemed grant for exactly the arguments that will be forwarded.

Proposals ask for ``redeem: true``: a call the policy allows outright comes back ``executing``
with its grant already spent in the proposal's transaction, so after the offline check (EdDSA,
workflow, kind, target, digest of the frozen bytes) it is forwarded with no second round trip.
A call approved by a human is redeemed as before.

Outcomes (what the upstream answered, with its SHA-256) are queued on the agent's SDK client
and sent by its background sender after the answer has gone back to the agent, so the audit
story ends with what actually happened without adding a round trip to every call. The sender
retries while signoff is unreachable, keeps what it could not send for ``flush()``, and the
pool's ``aclose`` (gateway shutdown) waits for the queue to drain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types

from signoff.client import ActionRecord, AsyncClient
from signoff.errors import (
    Forbidden,
    GrantRefused,
    InvalidRequest,
    SignoffError,
    Unauthenticated,
    Unavailable,
)
from signoff.mcp.actions import (
    PlannedCall,
    impact_of,
    is_config_denied,
    plan_call,
    result_digest,
    workflow_and_kind,
)
from signoff.mcp.config import GatewayConfig
from signoff.mcp.identity import AgentIdentity, AgentPool
from signoff.mcp.upstream import Upstreams, UpstreamTool

__all__ = ["Gateway", "Progress", "tool_error"]

log = logging.getLogger("signoff.mcp")

Progress = Callable[[float, str], Awaitable[None]]

_NOT_RUN = "The tool was not executed."


def tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _reasons(record: ActionRecord) -> str:
    messages = [r.message or r.rule_id for r in record.reasons if r.message or r.rule_id]
    return "; ".join(messages)


def explain(record: ActionRecord) -> str:
    """What happened, for the model: the status and the reasons, no policy internals."""
    why = _reasons(record)
    because = f" Reasons: {why}." if why else ""
    ref = f" (signoff action {record.id})"
    if record.status == "denied":
        return (f"signoff denied this call{ref}.{because} {_NOT_RUN} Do not retry it "
                "unchanged; ask a human if it is needed.")
    if record.status == "rejected":
        notes = "; ".join(r.rationale for r in record.reviews
                          if r.verdict == "reject" and r.rationale)
        said = f" The reviewer said: {notes}." if notes else ""
        return f"A human reviewer rejected this call{ref}.{said}{because} {_NOT_RUN}"
    if record.status == "expired":
        return f"No human decided on this call before it expired{ref}.{because} {_NOT_RUN}"
    if record.status == "lapsed":
        return f"The approval for this call lapsed before it could run{ref}. {_NOT_RUN}"
    if record.status == "cancelled":
        return f"This call was cancelled before it ran{ref}.{because} {_NOT_RUN}"
    return f"signoff answered {record.status!r} for this call{ref}. {_NOT_RUN}"


def _text_excerpt(result: types.CallToolResult, limit: int = 300) -> str:
    parts = [c.text for c in result.content if isinstance(c, types.TextContent)]
    return " ".join(parts)[:limit]


class Gateway:
    """The policy enforcement point between agents and their MCP servers."""

    def __init__(self, config: GatewayConfig, upstreams: Upstreams, pool: AgentPool) -> None:
        self.config = config
        self.upstreams = upstreams
        self.pool = pool
        self._denied_cache: dict[tuple[str, str], tuple[bool, float]] = {}

    # -- tools/list ----------------------------------------------------------------------
    async def list_tools(self, identity: AgentIdentity, token: str | None = None
                         ) -> list[types.Tool]:
        tools = await self.upstreams.refresh()
        shown = [t for t in tools if not self._hidden(t, identity)]
        if self.config.hide_denied and token is not None and shown:
            denied = await asyncio.gather(*(self._policy_denies(t, identity, token)
                                            for t in shown))
            shown = [t for t, no in zip(shown, denied, strict=True) if not no]
        return [self._present(t) for t in shown]

    def _hidden(self, tool: UpstreamTool, identity: AgentIdentity) -> bool:
        if not self.config.hide_denied:
            return False
        if is_config_denied(self.config, tool) is not None:
            return True
        return not identity.may_propose(*workflow_and_kind(self.config, tool))

    async def _policy_denies(self, tool: UpstreamTool, identity: AgentIdentity,
                             token: str) -> bool:
        """Whether the policy denies this tool outright: asked with no target and no
        arguments, so a rule that denies only some arguments (``target == "prod"``) leaves the
        tool listed. Cached per agent and tool like the agent's identity. Listing is advice:
        if signoff cannot answer, the tool stays listed and every call is still decided."""
        key = (identity.id, tool.name)
        now = time.monotonic()
        cached = self._denied_cache.get(key)
        if cached is not None and now - cached[1] < self.pool.cache_seconds:
            return cached[0]
        workflow, kind = workflow_and_kind(self.config, tool)
        try:
            answer = await self.pool.client(token).check(
                workflow, kind, impact=impact_of(self.config, tool))
        except SignoffError as exc:
            log.info("policy check for %s failed, listing it: %s", tool.name, exc)
            return False
        self._denied_cache[key] = (answer.denied, now)
        return answer.denied

    def _present(self, item: UpstreamTool) -> types.Tool:
        schema = dict(item.tool.input_schema)
        props = schema.get("properties")
        if schema.get("type", "object") == "object" and (props is None or isinstance(props, dict)):
            schema["properties"] = {**(props or {}), self.config.summary_argument: {
                "type": "string",
                "description": "Optional: say what this call is for and why; a human reviewer "
                               "may read it before approving. Not passed to the tool."}}
        return item.tool.model_copy(update={"name": item.name, "input_schema": schema})

    # -- tools/call ----------------------------------------------------------------------
    async def call_tool(self, token: str, name: str, arguments: dict[str, Any] | None,
                        progress: Progress) -> types.CallToolResult:
        try:
            identity = await self.pool.identify(token)
        except Unauthenticated as exc:
            return tool_error(f"The gateway could not identify this agent: {exc.detail}. "
                              f"{_NOT_RUN}")
        except SignoffError as exc:
            return tool_error(f"signoff is unreachable ({exc.detail}); the call was not made "
                              "(fail closed).")
        tool = await self.upstreams.lookup(name)
        if tool is None:
            return tool_error(f"Unknown tool {name!r}. {_NOT_RUN}")
        denied = is_config_denied(self.config, tool)
        if denied is not None:
            return tool_error(f"{denied}. {_NOT_RUN}")
        try:
            call = plan_call(self.config, tool, arguments)
        except InvalidRequest as exc:
            return tool_error(f"Invalid arguments: {exc.detail}. {_NOT_RUN}")
        client = self.pool.client(token)
        log.debug("agent %s calls %s", identity.id, name)
        return await self._gate(client, call, progress)

    async def _gate(self, client: AsyncClient, call: PlannedCall,
                    progress: Progress) -> types.CallToolResult:
        digest = call.digest
        try:
            record = await client.propose(
                call.workflow, call.kind, call.target, call.params(), summary=call.summary,
                impact=call.impact, redeem=True,
                inputs=[{"source": "mcp", "ref": call.tool.name,
                         "excerpt": (call.tool.tool.description or "")[:500]}])
        except Unavailable as exc:
            return tool_error(f"signoff is unreachable ({exc.detail}); the call was not made "
                              "(fail closed).")
        except Forbidden as exc:
            return tool_error(f"signoff refused this call: {exc.detail}. {_NOT_RUN}")
        except SignoffError as exc:
            return tool_error(f"signoff could not take this call: {exc.detail}. {_NOT_RUN}")
        if record.digest != digest:
            return tool_error(f"signoff recorded a different payload for action {record.id}; "
                              f"refusing to run it. {_NOT_RUN}")
        # The key is generated by the SDK for this call, so an ``executing`` replay after a
        # lost answer is this very call's proposal: nothing has been forwarded yet.
        if record.status == "executing":
            return await self._execute(client, call, record, digest, spent=True)
        if record.status == "pending":
            record = await self._wait(client, record, progress)
        if not record.runnable:
            return tool_error(explain(record))
        return await self._execute(client, call, record, digest, spent=False)

    async def _wait(self, client: AsyncClient, record: ActionRecord,
                    progress: Progress) -> ActionRecord:
        """Hold the call until a human decides; a client cancel cancels the action."""
        started = time.monotonic()
        slice_ = self.config.progress_interval
        try:
            while record.status == "pending":
                elapsed = time.monotonic() - started
                if self.config.max_wait is not None and elapsed >= self.config.max_wait:
                    return await self._cancel(client, record, "the gateway stopped waiting "
                                              f"after {self.config.max_wait:g}s")
                await progress(elapsed, f"waiting for a human to approve signoff action "
                                        f"{record.id} (workflow {record.workflow})")
                try:
                    record = await client.wait(record.id, timeout=slice_, poll=slice_)
                except SignoffError as exc:
                    log.warning("signoff: waiting for %s failed: %s", record.id, exc)
                    await anyio.sleep(1.0)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True), anyio.move_on_after(15):
                await self._cancel(client, record, "the MCP client cancelled the call")
            raise
        return record

    async def _cancel(self, client: AsyncClient, record: ActionRecord,
                      reason: str) -> ActionRecord:
        try:
            return await client.cancel(record.id, reason)
        except SignoffError as exc:
            log.warning("signoff: cancelling %s failed: %s", record.id, exc)
            try:
                return await client.get(record.id)
            except SignoffError:
                return record

    async def _execute(self, client: AsyncClient, call: PlannedCall, record: ActionRecord,
                       digest: str, *, spent: bool) -> types.CallToolResult:
        """Forward the call with a verified grant; ``spent``: the proposal already redeemed it."""
        grant = record.grant.token if record.grant is not None else None
        if not grant or (spent and record.grant is not None
                         and record.grant.state != "redeemed"):
            if spent:
                self._report(client, record.id, "failed", json.dumps(
                    {"error": "not run: the proposal answered executing without a grant"}))
            return tool_error(f"signoff issued no grant for action {record.id}. {_NOT_RUN}")
        try:
            claims = await client.verifier.averify(grant, digest, workflow=call.workflow,
                                                   kind=call.kind, target=call.target)
            if claims.action_id != record.id:
                raise GrantRefused(f"the grant is for action {claims.action_id}")
            if not spent:
                await client.redeem(grant, digest)
        except SignoffError as exc:
            if spent:  # the grant is spent either way: close the action as not run
                self._report(client, record.id, "failed", json.dumps(
                    {"error": f"not run: the gateway refused the grant: {exc.detail}"[:1500]}))
            return tool_error(f"The grant for action {record.id} could not be used: "
                              f"{exc.detail}. {_NOT_RUN}")
        try:
            result = await self.upstreams.call(call.tool, call.params())
        except anyio.get_cancelled_exc_class():
            self._report(client, record.id, "failed", json.dumps(
                {"error": "the MCP client cancelled the call while the upstream ran"}))
            raise
        except Exception as exc:  # noqa: BLE001 - an upstream failure becomes the outcome
            detail = f"{type(exc).__name__}: {exc}"
            self._report(client, record.id, "failed", json.dumps({"error": detail[:1500]}))
            return tool_error(f"The upstream tool failed: {detail[:500]}")
        self._report(client, record.id, "failed" if result.is_error else "succeeded",
                     json.dumps({"sha256": result_digest(result), "is_error": result.is_error,
                                 "excerpt": _text_excerpt(result)}))
        return result

    @staticmethod
    def _report(client: AsyncClient, action_id: str, status: str, detail: str) -> None:
        """Queue the outcome on the agent's client: sent in the background, retried, flushed
        when the pool closes; never on the call's path."""
        client.report_outcome_later(action_id, status, detail)
