"""Connections from the gateway to the MCP servers behind it.

Each upstream is one long-lived ``ClientSession`` (stdio subprocess or streamable HTTP) opened
when the gateway starts and shared by every agent: the upstream sees one client, the gateway,
holding the credentials from its configuration. A stdio upstream gets only the MCP SDK's safe
default environment (PATH, HOME, ...) plus the ``env`` the configuration names, so nothing else
from the gateway's environment leaks to it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from signoff.errors import ConfigurationError
from signoff.mcp.config import GatewayConfig

__all__ = ["UpstreamTool", "Upstreams"]

log = logging.getLogger("signoff.mcp")

SEPARATOR = "."


@dataclass(frozen=True, slots=True)
class UpstreamTool:
    """One tool as the upstream describes it, under its namespaced name."""

    upstream: str
    tool: types.Tool

    @property
    def name(self) -> str:
        return f"{self.upstream}{SEPARATOR}{self.tool.name}"


@dataclass(slots=True)
class Upstreams:
    """The open sessions, and the tools last listed from them."""

    config: GatewayConfig
    sessions: dict[str, ClientSession] = field(default_factory=dict)
    tools: dict[str, UpstreamTool] = field(default_factory=dict)

    async def refresh(self, name: str | None = None) -> list[UpstreamTool]:
        """List the tools of one upstream (or all), in upstream order, and remember them."""
        listed: list[UpstreamTool] = []
        for up in [name] if name else list(self.sessions):
            session = self.sessions[up]
            cursor: str | None = None
            fresh: list[UpstreamTool] = []
            while True:
                params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                result = await session.list_tools(params=params)
                fresh.extend(UpstreamTool(up, tool) for tool in result.tools)
                cursor = result.next_cursor
                if not cursor:
                    break
            for key in [k for k, v in self.tools.items() if v.upstream == up]:
                del self.tools[key]
            self.tools.update((t.name, t) for t in fresh)
            listed.extend(fresh)
        return listed

    async def lookup(self, name: str) -> UpstreamTool | None:
        """The tool behind a namespaced name; lists its upstream again once if unknown."""
        found = self.tools.get(name)
        if found is not None:
            return found
        up = name.split(SEPARATOR, 1)[0]
        if up not in self.sessions or SEPARATOR not in name:
            return None
        await self.refresh(up)
        return self.tools.get(name)

    async def call(self, tool: UpstreamTool, arguments: dict[str, Any]) -> types.CallToolResult:
        timeout = self.config.upstreams[tool.upstream].timeout
        result = await self.sessions[tool.upstream].call_tool(
            tool.tool.name, arguments, read_timeout_seconds=timeout)
        if not isinstance(result, types.CallToolResult):
            raise RuntimeError(f"upstream {tool.upstream} answered {type(result).__name__}, "
                               "not a tool result")
        return result


@asynccontextmanager
async def _http_session(url: str, headers: dict[str, str], timeout: float
                        ) -> AsyncIterator[tuple[Any, Any]]:
    client = httpx2.AsyncClient(headers=headers,
                                timeout=httpx2.Timeout(30.0, read=max(timeout, 30.0)))
    async with client, streamable_http_client(url, http_client=client) as streams:
        yield streams


@asynccontextmanager
async def open_upstreams(config: GatewayConfig) -> AsyncIterator[Upstreams]:
    """Connect to every upstream and list its tools; fails with one line if one is down."""
    upstreams = Upstreams(config)
    async with AsyncExitStack() as stack:
        for name, spec in config.upstreams.items():
            try:
                if spec.command is not None:
                    params = StdioServerParameters(
                        command=spec.command, args=list(spec.args),
                        env=config.resolved_env(name), cwd=spec.cwd)
                    streams = await stack.enter_async_context(
                        stdio_client(params, errlog=sys.stderr))
                else:
                    assert spec.url is not None
                    streams = await stack.enter_async_context(_http_session(
                        spec.url, config.resolved_headers(name), spec.timeout))
                session = await stack.enter_async_context(ClientSession(*streams))
                with anyio.fail_after(30):
                    await session.initialize()
            except ConfigurationError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: say which upstream, in one line
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigurationError(f"upstream {name}: cannot connect: {first}") from exc
            upstreams.sessions[name] = session
        await upstreams.refresh()
        log.info("signoff mcp-gateway: %d upstream(s), %d tool(s)", len(upstreams.sessions),
                 len(upstreams.tools))
        yield upstreams
