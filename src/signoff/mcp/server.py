"""Serving MCP to agents: the low-level ``mcp`` server over stdio or streamable HTTP.

stdio serves one agent, the one whose token is in ``SIGNOFF_AGENT_TOKEN``. HTTP serves many:
``mcp``'s bearer middleware asks ``AgentTokenVerifier`` about every request (401 without a valid
agent token), binds each MCP session to the credential that opened it, and the handlers read
that request's token, so each call is proposed with its own agent's identity.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette

from signoff.errors import ConfigurationError, SignoffError, Unauthenticated
from signoff.mcp.config import GatewayConfig
from signoff.mcp.gateway import Gateway
from signoff.mcp.identity import AGENT_TOKEN_ENV, AgentPool, AgentTokenVerifier
from signoff.mcp.stdio import stdio_streams
from signoff.mcp.upstream import open_upstreams

__all__ = ["build_server", "http_app", "open_gateway", "serve_http", "serve_stdio"]

log = logging.getLogger("signoff.mcp")

INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


@asynccontextmanager
async def open_gateway(config: GatewayConfig) -> AsyncIterator[Gateway]:
    """Upstreams connected, agent pool ready; queued outcome reports are flushed on exit (the
    pool's ``aclose`` drains every agent client's outcome queue)."""
    pool = AgentPool(config.signoff_url(), timeout=config.signoff.timeout,
                     cache_seconds=config.agent_cache_seconds)
    try:
        async with open_upstreams(config) as upstreams:
            yield Gateway(config, upstreams, pool)
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()


def _token_of(ctx: ServerRequestContext[Any, Any], fixed: str | None) -> str:
    if fixed is not None:
        return fixed
    request = ctx.request
    user = request.scope.get("user") if request is not None else None
    if isinstance(user, AuthenticatedUser):
        return user.access_token.token
    raise MCPError(INVALID_REQUEST, "an agent token is required")


def build_server(gateway: Gateway, *, fixed_token: str | None = None) -> Server[Any]:
    """The MCP server agents talk to; ``fixed_token`` is the stdio agent's token."""

    async def list_tools(ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        token = _token_of(ctx, fixed_token)
        try:
            identity = await gateway.pool.identify(token)
        except Unauthenticated as exc:
            raise MCPError(INVALID_REQUEST, f"not a valid agent token: {exc.detail}") from None
        except SignoffError as exc:
            raise MCPError(INTERNAL_ERROR, f"signoff unreachable: {exc.detail}") from None
        return types.ListToolsResult(tools=await gateway.list_tools(identity, token))

    async def call_tool(ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        token = _token_of(ctx, fixed_token)

        async def progress(elapsed: float, message: str) -> None:
            await ctx.session.report_progress(round(elapsed, 3), None, message)

        return await gateway.call_tool(token, params.name, params.arguments, progress)

    return Server("signoff-mcp-gateway", version="1", on_list_tools=list_tools,
                  on_call_tool=call_tool,
                  instructions="Tools behind signoff: calls that change things may wait for a "
                               "human's approval; say why in _signoff_summary.")


async def serve_stdio(config: GatewayConfig, token: str | None = None) -> None:
    """Serve one agent over stdin/stdout; its token comes from ``SIGNOFF_AGENT_TOKEN``."""
    token = token or os.environ.get(AGENT_TOKEN_ENV)
    if not token:
        raise ConfigurationError(f"set {AGENT_TOKEN_ENV} to the agent's signoff token "
                                 "(so_agent_…) for the stdio transport")
    async with open_gateway(config) as gateway:
        try:
            identity = await gateway.pool.identify(token)
        except SignoffError as exc:
            raise ConfigurationError(f"{AGENT_TOKEN_ENV}: {exc.detail}") from None
        log.info("signoff mcp-gateway: serving agent %s over stdio", identity.id)
        server = build_server(gateway, fixed_token=token)
        async with stdio_streams() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def http_app(gateway: Gateway, *, host: str = "127.0.0.1", path: str = "/mcp") -> Starlette:
    server = build_server(gateway)
    security = None
    if host not in ("127.0.0.1", "localhost", "::1"):
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return server.streamable_http_app(
        streamable_http_path=path, host=host, transport_security=security,
        auth=AuthSettings(issuer_url=gateway.config.signoff_url(),  # type: ignore[arg-type]
                          resource_server_url=None),
        token_verifier=AgentTokenVerifier(gateway.pool))


async def serve_http(config: GatewayConfig, *, host: str, port: int,
                     ready: anyio.Event | None = None) -> None:
    """Serve many agents over streamable HTTP at ``http://HOST:PORT/mcp``."""
    async with open_gateway(config) as gateway:
        app = http_app(gateway, host=host)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                               lifespan="on"))
        log.info("signoff mcp-gateway: serving MCP at http://%s:%d/mcp", host, port)
        if ready is not None:
            ready.set()
        await server.serve()
