"""Tampering between approval and execution is impossible by construction.

The gateway freezes the arguments into RFC 8785 bytes once; the digest it proposes, checks the
grant against and redeems, and the arguments it forwards, all come from those bytes. And a
grant cannot be spent for other arguments: the server refuses a redeem whose digest differs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from mcp_types import Tool, ToolAnnotations

from signoff.client import AsyncClient, compute_digest
from signoff.errors import GrantRefused
from signoff.mcp.actions import plan_call
from signoff.mcp.config import parse_config
from signoff.mcp.upstream import UpstreamTool
from tests.mcp.conftest import Live, stdio_gateway

CONFIG = parse_config({"signoff": {"workflow": "mcp-tests"},
                       "upstreams": {"tools": {"command": "x", "tools": {
                           "echo": {"target_default": "echo"}}}}})
ECHO = UpstreamTool("tools", Tool(name="echo", input_schema={"type": "object"},
                                  annotations=ToolAnnotations(read_only_hint=True,
                                                              open_world_hint=False)))


def test_the_planned_call_cannot_change_after_it_is_planned() -> None:
    args = {"text": "pay 10", "n": 1, "nested": {"k": [1, 2]}}
    call = plan_call(CONFIG, ECHO, args)
    digest = call.digest
    args["text"] = "pay 10000"                  # the caller's dict changes afterwards
    args["nested"]["k"].append(3)
    forwarded = call.params()
    forwarded["text"] = "pay 99999"             # so does a copy handed out earlier
    assert call.params() == {"text": "pay 10", "n": 1, "nested": {"k": [1, 2]}}
    assert call.digest == digest == compute_digest("mcp-tests", "mcp.tools.echo", "echo",
                                                   call.params())
    with pytest.raises(AttributeError):
        call.params_bytes = b"{}"  # type: ignore[misc]


async def test_server_refuses_a_grant_for_other_arguments(live: Live) -> None:
    async with AsyncClient(live.url, live.agent_token) as client:
        record = await client.propose("mcp-tests", "mcp.tools.echo", "echo", {"text": "a"},
                                      impact={"reversible": True, "external": False})
        assert record.status == "allowed" and record.grant and record.grant.token
        other = compute_digest("mcp-tests", "mcp.tools.echo", "echo", {"text": "b"})
        with pytest.raises(GrantRefused):
            await client.verifier.averify(record.grant.token, other, workflow="mcp-tests")
        with pytest.raises(GrantRefused):
            await client.redeem(record.grant.token, other)
        # the right digest still works exactly once: the refused attempt spent nothing
        redeemed = await client.redeem(record.grant.token, record.digest)
        assert redeemed.action_id == record.id


async def test_the_upstream_receives_exactly_the_approved_params(live: Live,
                                                                 gateway_config: Path) -> None:
    async with stdio_gateway(gateway_config, live.agent_token) as session:
        await session.call_tool("tools.echo", {"text": "exact", "n": 7,
                                               "_signoff_summary": "not forwarded"})
    ran = [json.loads(line) for line in live.executed()]
    echoed = [r["args"] for r in ran if r["tool"] == "echo" and r["args"]["text"] == "exact"]
    approved = [a["params"] for a in live.actions() if a["params"].get("text") == "exact"]
    assert echoed == approved == [{"text": "exact", "n": 7}]



@pytest.mark.parametrize("args", [
    {}, {"text": "é😀\u2028\"\\", "n": -0.0, "f": 1e21, "g": 0.1},
    {"€": 1, "😀": [None, True, {"b": 1, "a": 2}], "a": "x", "Z": []},
])
@pytest.mark.parametrize("target", ["echo", "ré\"po\n", "😀"])
def test_the_digest_built_around_the_frozen_bytes_is_rfc8785(args: dict, target: str) -> None:
    call = dataclasses.replace(plan_call(CONFIG, ECHO, args), target=target)
    assert call.digest == compute_digest(call.workflow, call.kind, target, call.params())
