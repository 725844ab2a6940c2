"""An upstream reached over streamable HTTP, its credential a header only the gateway holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mcp_types as types

from tests.conftest import free_port
from tests.mcp.conftest import UPSTREAM, Live, _wait_port, stdio_gateway

UPSTREAM_KEY = "upstream-key-5678"

CONFIG = """\
signoff:
  url: {url}
  workflow: mcp-tests
upstreams:
  tools:
    url: http://127.0.0.1:{port}/mcp
    headers:
      X-Upstream-Key: {{from_env: TEST_UPSTREAM_KEY}}
    tools:
      echo: {{target_default: echo}}
"""


def _text(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_calls_reach_an_http_upstream_with_the_gateways_header(live: Live,
                                                                      tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "upstream-http.log"
    upstream = subprocess.Popen([sys.executable, str(UPSTREAM), "--http", str(port)],
                                env={**os.environ, "UPSTREAM_LOG": str(log)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, upstream, log)
        config = tmp_path / "gateway-http-upstream.yaml"
        config.write_text(CONFIG.format(url=live.url, port=port))
        # The key is in the gateway's environment only; the agent never sees it.
        async with stdio_gateway(config, live.agent_token,
                                 env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "tools.echo" in names and "tools.wipe_repo" not in names
            result = await session.call_tool("tools.echo", {"text": "over http", "n": 3})
        assert not result.is_error, _text(result)
        assert json.loads(_text(result)) == {"n": 3, "text": "over http"}
    finally:
        upstream.terminate()
        upstream.wait(10)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert {"tool": "echo", "args": {"n": 3, "text": "over http"}} in lines
    keys = {x["args"]["x-upstream-key"] for x in lines if x["tool"] == "_http_request"}
    assert keys == {UPSTREAM_KEY}
    item = next(a for a in live.actions() if a["params"].get("text") == "over http")
    assert live.wait_status(item["id"], {"succeeded"})["status"] == "succeeded"
