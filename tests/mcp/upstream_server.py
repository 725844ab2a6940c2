"""An upstream MCP server for the gateway tests (stdio, or streamable HTTP with ``--http PORT``).

Tools: ``read_file`` (read-only), ``delete_branch`` (destructive), ``deploy`` (needs the secret
``DEPLOY_TOKEN`` from its own environment and fails without it), ``echo`` (read-only, returns
its arguments exactly, for the tampering and benchmark checks). Every executed call is appended
to the file named by ``UPSTREAM_LOG`` (if set), so tests can prove what ran and with what.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("upstream-test")


def _log(tool: str, args: dict[str, Any]) -> None:
    path = os.environ.get("UPSTREAM_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"tool": tool, "args": args}, sort_keys=True) + "\n")


@server.tool(description="Read a file from a repository.",
             annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
def read_file(repo: str, path: str) -> str:
    _log("read_file", {"repo": repo, "path": path})
    return f"contents of {repo}/{path}"


@server.tool(description="Delete a branch of a repository.",
             annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def delete_branch(repo: str, branch: str) -> str:
    _log("delete_branch", {"repo": repo, "branch": branch})
    return f"deleted {repo}:{branch}"


@server.tool(description="Deploy a service; needs DEPLOY_TOKEN.",
             annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                         open_world_hint=True))
def deploy(service: str, version: str) -> str:
    token = os.environ.get("DEPLOY_TOKEN")
    if not token:
        raise ToolError("DEPLOY_TOKEN is not set: refusing to deploy")
    _log("deploy", {"service": service, "version": version})
    return f"deployed {service}@{version} with token ending {token[-4:]}"


@server.tool(description="Erase a repository and its history.",
             annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
def wipe_repo(repo: str) -> str:
    _log("wipe_repo", {"repo": repo})
    return f"wiped {repo}"


@server.tool(description="Echo the arguments back.",
             annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
def echo(text: str, n: int = 0) -> str:
    _log("echo", {"text": text, "n": n})
    return json.dumps({"text": text, "n": n}, sort_keys=True)


def _http(port: int) -> None:
    """Streamable HTTP; each request's ``X-Upstream-Key`` header is logged, so a test can see
    that the gateway (not the agent) sent the upstream's credential."""
    import uvicorn

    app = server.streamable_http_app()

    async def logged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            key = dict(scope["headers"]).get(b"x-upstream-key", b"").decode()
            _log("_http_request", {"x-upstream-key": key})
        await app(scope, receive, send)

    uvicorn.run(logged, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        _http(int(sys.argv[2]))
    else:
        server.run()
