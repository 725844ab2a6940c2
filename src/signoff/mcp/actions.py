"""Turning one ``tools/call`` into the signoff action that would execute.

The arguments are frozen into their RFC 8785 canonical bytes *once*, before anything is sent:
the digest proposed, the digest the grant is checked against, the digest redeemed and the
arguments forwarded upstream are all derived from those same immutable bytes. There is no
second copy of the arguments that could change between approval and execution, so tampering
in between is impossible by construction (and a grant for other bytes is refused twice: by the
offline check and by the server's redeem).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import rfc8785

from signoff.client.payload import to_json_value
from signoff.errors import InvalidRequest
from signoff.mcp.config import GatewayConfig, ToolRule
from signoff.mcp.upstream import UpstreamTool

__all__ = ["PlannedCall", "is_config_denied", "plan_call", "result_digest", "tool_rule"]

_KIND_SAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_SUMMARY = 2000


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """The four fields that execute (as immutable bytes) plus the reviewer's context."""

    tool: UpstreamTool
    workflow: str
    kind: str
    target: str
    params_bytes: bytes
    summary: str
    impact: dict[str, Any]

    @property
    def digest(self) -> str:
        """``sha256:`` + SHA-256 of the RFC 8785 JSON of ``{workflow, kind, target, params}``.

        Built around the frozen bytes instead of canonicalising the arguments a second time:
        RFC 8785 is compositional (a member's value is its own canonical form) and the four
        keys sort as kind < params < target < workflow.
        """
        body = b"".join((b'{"kind":', rfc8785.dumps(self.kind), b',"params":', self.params_bytes,
                         b',"target":', rfc8785.dumps(self.target), b',"workflow":',
                         rfc8785.dumps(self.workflow), b"}"))
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def params(self) -> dict[str, Any]:
        """A fresh copy decoded from the frozen bytes: what is proposed and what is forwarded."""
        value: dict[str, Any] = json.loads(self.params_bytes)
        return value


def tool_rule(config: GatewayConfig, tool: UpstreamTool) -> ToolRule:
    return config.upstreams[tool.upstream].tools.get(tool.tool.name) or ToolRule()


def is_config_denied(config: GatewayConfig, tool: UpstreamTool) -> str | None:
    """The configured reason when the gateway never offers this tool, else ``None``."""
    rule = tool_rule(config, tool)
    if rule.deny:
        return rule.deny_reason
    if any(fnmatch.fnmatchcase(tool.tool.name, pattern)
           for pattern in config.upstreams[tool.upstream].deny):
        return "this tool is not available through the gateway"
    return None


def workflow_and_kind(config: GatewayConfig, tool: UpstreamTool) -> tuple[str, str]:
    rule = tool_rule(config, tool)
    up = config.upstreams[tool.upstream]
    workflow = rule.workflow or up.workflow or config.signoff.workflow
    kind = rule.kind or f"mcp.{tool.upstream}.{_KIND_SAFE.sub('_', tool.tool.name)}"
    return workflow, kind


def _lookup(root: Any, path: str) -> Any:
    node = root
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _target(config: GatewayConfig, tool: UpstreamTool, args: dict[str, Any]) -> str:
    rule = tool_rule(config, tool)
    up = config.upstreams[tool.upstream]
    path = rule.target or up.target
    default = rule.target_default or up.target_default
    if path is None:
        return default or tool.upstream
    if path.startswith("$"):
        root: Any = {"tool": tool.tool.name, "upstream": tool.upstream, "args": args}
        value = _lookup(root, path[1:])
    else:
        value = _lookup(args, path)
    if value is None or value == "":
        if default:
            return default
        raise InvalidRequest(f"argument {path!r} is required: signoff uses it as the target "
                             "of this action", field=path)
    if isinstance(value, str):
        return value
    return rfc8785.dumps(value).decode()


def impact_of(config: GatewayConfig, tool: UpstreamTool) -> dict[str, Any]:
    """Impact from the tool's annotations (MCP defaults: destructive, open world), then config."""
    ann = tool.tool.annotations or types.ToolAnnotations()
    read_only = ann.read_only_hint is True
    destructive = not read_only and ann.destructive_hint is not False
    open_world = ann.open_world_hint is not False
    words = ["read-only" if read_only else "may change state"]
    if destructive:
        words.append("destructive (may delete or overwrite)")
    if open_world:
        words.append("reaches external systems")
    impact: dict[str, Any] = {"reversible": not destructive,
                              "external": open_world and not read_only,
                              "description": f"MCP tool {tool.name}: " + ", ".join(words)}
    override = tool_rule(config, tool).impact
    if override is not None:
        impact.update({k: v for k, v in override.model_dump().items() if v is not None})
    return impact


def plan_call(config: GatewayConfig, tool: UpstreamTool,
              arguments: dict[str, Any] | None) -> PlannedCall:
    """Freeze one call; raises ``InvalidRequest`` (shown to the model) for unusable arguments."""
    args = dict(arguments or {})
    summary = args.pop(config.summary_argument, None)
    if summary is not None and not isinstance(summary, str):
        raise InvalidRequest(f"{config.summary_argument} must be a string",
                             field=config.summary_argument)
    if not summary:
        described = (tool.tool.description or "").strip().splitlines()
        summary = f"{tool.name}" + (f": {described[0]}" if described else "")
    params = to_json_value(args, "arguments")
    workflow, kind = workflow_and_kind(config, tool)
    return PlannedCall(
        tool=tool, workflow=workflow, kind=kind, target=_target(config, tool, params),
        params_bytes=rfc8785.dumps(params), summary=summary[:MAX_SUMMARY],
        impact=impact_of(config, tool))


def result_digest(result: types.CallToolResult) -> str:
    """SHA-256 of the canonical JSON of the result, as it went back to the agent."""
    data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    try:
        body = rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, ValueError, TypeError):
        body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest()
