"""The gateway on stdio, with a real MCP client session, a real signoff and a real upstream."""

from __future__ import annotations

import json
from pathlib import Path

import mcp_types as types

from tests.mcp.conftest import Live, stdio_gateway


def _text(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_allowed_call_passes_through(live: Live, gateway_config: Path) -> None:
    async with stdio_gateway(gateway_config, live.agent_token) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"tools.read_file", "tools.echo", "tools.delete_branch",
                "tools.deploy"} <= set(tools)
        result = await session.call_tool("tools.read_file", {
            "repo": "acme/api", "path": "README.md", "_signoff_summary": "check the readme"})
    assert not result.is_error, _text(result)
    assert _text(result) == "contents of acme/api/README.md"
    item = next(a for a in live.actions() if a["kind"] == "mcp.tools.read_file")
    record = live.wait_status(item["id"], {"succeeded", "failed"})
    assert record["status"] == "succeeded"
    assert record["target"] == "acme/api"
    assert record["params"] == {"repo": "acme/api", "path": "README.md"}
    assert record["summary"] == "check the readme"
    assert json.loads(record["outcome"]["detail"])["sha256"]
