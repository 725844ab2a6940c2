"""The gateway on streamable HTTP: one agent identity per bearer token, 401 without one."""

from __future__ import annotations

import anyio
import httpx
import mcp_types as types

from tests.mcp.conftest import HttpGateway, Live, http_session


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


def test_no_or_bad_token_gets_401(http_gateway: HttpGateway, live: Live) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in (None, "Bearer so_agent_forged", f"Bearer {live.reviewer_token}"):
        extra = {"Authorization": auth} if auth else {}
        response = httpx.post(http_gateway.url, json=body, headers={**headers, **extra})
        assert response.status_code == 401, (auth, response.status_code, response.text)


async def test_each_agent_acts_as_itself(http_gateway: HttpGateway, live: Live) -> None:
    async with http_session(http_gateway.url, live.narrow_token) as narrow:
        names = {t.name for t in (await narrow.list_tools()).tools}
        # scopes hide what this agent may never propose
        assert names == {"tools.read_file", "tools.echo"}
        result = await narrow.call_tool("tools.echo", {"text": "narrow"})
        assert not result.is_error
        # calling a hidden tool anyway: signoff refuses it for this agent
        refused = await narrow.call_tool("tools.delete_branch", {"repo": "x", "branch": "y"})
        assert refused.is_error and "refused" in text_of(refused)
    async with http_session(http_gateway.url, live.agent_token) as wide:
        listed = {t.name for t in (await wide.list_tools()).tools}
        assert "tools.deploy" in listed
        # the policy denies wipe_repo outright: hidden; delete_branch is denied only for
        # target "prod", so it stays listed
        assert "tools.wipe_repo" not in listed and "tools.delete_branch" in listed
        refused = await wide.call_tool("tools.wipe_repo", {"repo": "acme/api"})
        assert refused.is_error and "never wiped" in text_of(refused)
        result = await wide.call_tool("tools.echo", {"text": "wide"})
        assert not result.is_error
    agents = {a["params"].get("text"): a["agent_id"] for a in live.actions()
              if a["kind"] == "mcp.tools.echo"}
    assert agents["narrow"] != agents["wide"]


async def test_held_call_over_http(http_gateway: HttpGateway, live: Live) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with http_session(http_gateway.url, live.agent_token) as session:
        known = live.pending_ids()
        results: list[types.CallToolResult] = []
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                async def call() -> None:
                    results.append(await session.call_tool(
                        "tools.delete_branch", {"repo": "acme/http", "branch": "stale"},
                        progress_callback=on_progress))

                tg.start_soon(call)
                action_id = await anyio.to_thread.run_sync(
                    live.wait_for_pending, "mcp.tools.delete_branch", known)
                await anyio.sleep(0.8)
                await anyio.to_thread.run_sync(live.review, action_id, "approve",
                                               "The stale branch can go.")
        assert not results[0].is_error, text_of(results[0])
        assert text_of(results[0]) == "deleted acme/http:stale"
        assert progress

        # and a cancel over HTTP cancels the action
        known = live.pending_ids()
        async with anyio.create_task_group() as tg:
            tg.start_soon(session.call_tool, "tools.delete_branch",
                          {"repo": "acme/http", "branch": "keep"})
            action_id = await anyio.to_thread.run_sync(
                live.wait_for_pending, "mcp.tools.delete_branch", known)
            tg.cancel_scope.cancel()
        record = await anyio.to_thread.run_sync(live.wait_status, action_id, {"cancelled"})
        assert record["status"] == "cancelled"
