"""``signoff mcp-gateway``: put signoff between MCP agents and the MCP servers they use.

Mounted by ``cli/main.py`` as ``app.command("mcp-gateway")(mcp_gateway)``. The gateway talks to
signoff over HTTP like any agent, so it may run on another host than the server.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import anyio
import typer

from signoff.errors import SignoffError

__all__ = ["mcp_gateway"]


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def mcp_gateway(
    config: Annotated[Path, typer.Option("--config", "-c", help="The gateway.yaml file.")],
    transport: Annotated[Transport, typer.Option(
        help="stdio: one agent (token in SIGNOFF_AGENT_TOKEN); http: many agents, "
             "each with its own Authorization: Bearer so_agent_… header.")] = Transport.stdio,
    host: Annotated[str, typer.Option(help="HTTP transport: address to listen on.")]
        = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP transport: port.")] = 8765,
    check: Annotated[bool, typer.Option(
        "--check", help="Validate the configuration (and its secrets) and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False,
) -> None:
    """Serve MCP to agents; gate every tool call through signoff (issue 7)."""
    # Imported here: the MCP stack is heavy and every other command should start fast.
    from signoff.mcp.config import load_config
    from signoff.mcp.server import serve_http, serve_stdio

    logging.basicConfig(stream=sys.stderr, level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    gateway_config = load_config(config)
    if check:
        typer.echo(f"{config}: ok ({len(gateway_config.upstreams)} upstream(s))", err=True)
        return
    if transport is Transport.stdio:
        _run(lambda: serve_stdio(gateway_config))
    else:
        _run(lambda: serve_http(gateway_config, host=host, port=port))


def _run(main: Callable[[], Awaitable[None]]) -> None:
    """Run the gateway; an error inside a task group still ends as one line (main.run)."""
    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise _leaf(group) from None


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    return next((e for e in leaves if isinstance(e, SignoffError)), leaves[0] if leaves else group)
