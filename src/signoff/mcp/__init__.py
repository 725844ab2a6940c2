"""The MCP gateway: agents reach their MCP tools only through signoff (issue 7, R10, R11).

An entry point like the API and the CLI, but it talks to signoff over HTTP with the SDK
(``signoff.client``), never to the services directly, so it can run on another host.
"""

from signoff.mcp.config import GatewayConfig, load_config, parse_config
from signoff.mcp.gateway import Gateway
from signoff.mcp.server import build_server, http_app, open_gateway, serve_http, serve_stdio

__all__ = [
    "Gateway",
    "GatewayConfig",
    "build_server",
    "http_app",
    "load_config",
    "open_gateway",
    "parse_config",
    "serve_http",
    "serve_stdio",
]
