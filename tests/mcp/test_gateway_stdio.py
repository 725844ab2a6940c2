"""The gateway on stdio, with a real MCP client session, a real signoff and a real upstream."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.mcp.conftest import DEPLOY_SECRET, UPSTREAM, Live, stdio_gateway


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_allowed_call_passes_through(live: Live, gateway_config: Path) -> None:
    async with stdio_gateway(gateway_config, live.agent_token) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"tools.read_file", "tools.echo", "tools.delete_branch",
                "tools.deploy"} <= set(tools)
        assert "_signoff_summary" in tools["tools.read_file"].input_schema["properties"]
        result = await session.call_tool("tools.read_file", {
            "repo": "acme/api", "path": "README.md", "_signoff_summary": "check the readme"})
    assert not result.is_error, text_of(result)
    assert text_of(result) == "contents of acme/api/README.md"
    item = next(a for a in live.actions() if a["kind"] == "mcp.tools.read_file")
    record = live.wait_status(item["id"], {"succeeded", "failed"})
    assert record["status"] == "succeeded"
    assert record["tier"] == "low" and record["mode"] == "allow"
    assert record["target"] == "acme/api"
    assert record["params"] == {"repo": "acme/api", "path": "README.md"}  # summary stripped
    assert record["summary"] == "check the readme"
    assert record["impact"]["reversible"] is True and record["impact"]["external"] is False
    detail = json.loads(record["outcome"]["detail"])
    assert len(detail["sha256"]) == 64 and detail["is_error"] is False


async def test_held_calls_approved_rejected_expired_denied(live: Live,
                                                           gateway_config: Path) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with stdio_gateway(gateway_config, live.agent_token) as session:
        # approved by a human through the API while the client waits
        known = live.pending_ids()
        before = len(live.executed())
        async with anyio.create_task_group() as tg:
            results: list[types.CallToolResult] = []

            async def call() -> None:
                results.append(await session.call_tool(
                    "tools.deploy", {"service": "billing", "version": "2.1"},
                    progress_callback=on_progress))

            tg.start_soon(call)
            action_id = await anyio.to_thread.run_sync(
                live.wait_for_pending, "mcp.tools.deploy", known)
            await anyio.sleep(1.0)  # the client is still waiting: progress flows
            assert not results
            await anyio.to_thread.run_sync(live.review, action_id, "approve",
                                           "Release 2.1 is planned for today.")
        assert not results[0].is_error, text_of(results[0])
        assert "deployed billing@2.1 with token ending " + DEPLOY_SECRET[-4:] in text_of(
            results[0])
        assert progress and "waiting for a human" in (progress[0][1] or "")
        assert len(live.executed()) == before + 1
        record = live.wait_status(action_id, {"succeeded", "failed"})
        assert record["status"] == "succeeded" and record["impact"]["external"] is True

        # rejected: the model is told, with the reviewer's words, and nothing runs
        known = live.pending_ids()
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                results = []

                async def call_delete() -> None:
                    results.append(await session.call_tool(
                        "tools.delete_branch", {"repo": "acme/api", "branch": "main"}))

                tg.start_soon(call_delete)
                action_id = await anyio.to_thread.run_sync(
                    live.wait_for_pending, "mcp.tools.delete_branch", known)
                await anyio.to_thread.run_sync(live.review, action_id, "reject",
                                               "Never delete the main branch.")
        assert results[0].is_error
        assert "rejected" in text_of(results[0])
        assert "Never delete the main branch." in text_of(results[0])
        assert len(live.executed()) == before + 1

        # expired: nobody decides within the rule's expires_in (2 s)
        with anyio.fail_after(30):
            result = await session.call_tool("tools.deploy",
                                             {"service": "expire/x", "version": "1"})
        assert result.is_error and "expired" in text_of(result), text_of(result)

        # denied outright by the policy: the reason, not the policy internals
        result = await session.call_tool("tools.delete_branch",
                                         {"repo": "prod", "branch": "main"})
        assert result.is_error
        assert "denied" in text_of(result)
        assert "deleting branches of prod is not allowed" in text_of(result)
        assert "no-prod-deletes" not in text_of(result)
        assert len(live.executed()) == before + 1


async def test_client_cancel_cancels_the_action(live: Live, gateway_config: Path) -> None:
    async with stdio_gateway(gateway_config, live.agent_token) as session:
        known = live.pending_ids()
        with anyio.move_on_after(20) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(session.call_tool, "tools.delete_branch",
                              {"repo": "acme/web", "branch": "old"})
                action_id = await anyio.to_thread.run_sync(
                    live.wait_for_pending, "mcp.tools.delete_branch", known)
                tg.cancel_scope.cancel()  # the client gives up: notifications/cancelled
        assert not scope.cancelled_caught
        record = await anyio.to_thread.run_sync(live.wait_status, action_id, {"cancelled"})
        assert record["status"] == "cancelled"
        # the session still works afterwards
        result = await session.call_tool("tools.echo", {"text": "still here"})
        assert not result.is_error


async def test_agent_cannot_use_the_upstream_directly(live: Live) -> None:
    """The agent's own environment has no DEPLOY_TOKEN: calling the upstream directly fails."""
    params = StdioServerParameters(command=sys.executable, args=[str(UPSTREAM)], env={})
    async with stdio_client(params) as streams, ClientSession(*streams) as session:
        await session.initialize()
        result = await session.call_tool("deploy", {"service": "billing", "version": "9"})
    assert result.is_error
    assert "DEPLOY_TOKEN is not set" in text_of(result)


async def test_stdio_gateway_refuses_a_bad_token(live: Live, gateway_config: Path,
                                                 tmp_path: Path) -> None:
    proc = await anyio.run_process(
        [sys.executable, "-m", "signoff.cli.main", "mcp-gateway", "--config",
         str(gateway_config)], env={"SIGNOFF_AGENT_TOKEN": "so_agent_nope",
                                    "TEST_DEPLOY_SECRET": "x", "PATH": "/usr/bin:/bin"},
        check=False)
    assert proc.returncode != 0
    err = proc.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("signoff: error: SIGNOFF_AGENT_TOKEN"), err
