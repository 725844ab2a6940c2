"""gateway.yaml validation (one-line errors), secrets, impact, target paths and hiding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp_types import Tool, ToolAnnotations

from signoff.errors import ConfigurationError, InvalidRequest
from signoff.mcp.actions import impact_of, is_config_denied, plan_call
from signoff.mcp.config import load_config, parse_config
from signoff.mcp.identity import AgentIdentity
from signoff.mcp.upstream import UpstreamTool

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp" / "gateway.yaml"


def config(**upstream: Any) -> Any:
    return parse_config({"signoff": {"url": "http://s", "workflow": "wf"},
                         "upstreams": {"gh": {"command": "gh-mcp", **upstream}}})


def tool(name: str = "t", **hints: Any) -> UpstreamTool:
    ann = ToolAnnotations(**hints) if hints else None
    return UpstreamTool("gh", Tool(name=name, description="Does t.\nMore.",
                                   input_schema={"type": "object"}, annotations=ann))


@pytest.mark.parametrize(("doc", "message"), [
    ({"signoff": {"workflow": "w"}, "upstreams": {}}, "upstreams: configure at least one"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a.b": {"command": "x"}}}, "upstream name"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a": {}}}, "exactly one of command"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a": {"url": "http://x", "env": {"A": "b"}}}},
     "env, args and cwd are for command"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a": {"command": "x", "bogus": 1}}},
     "upstreams.a.bogus: Extra inputs are not permitted"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a": {"command": "x", "env": {
        "T": {"from_env": "A", "from_file": "/x"}}}}}, "exactly one of from_env or from_file"),
    ({"signoff": {"workflow": "w"}, "upstreams": {"a": {"command": "x", "tools": {
        "t": {"kind": "nodots"}}}}}, "must be dotted"),
    ({"upstreams": {"a": {"command": "x"}}}, "signoff: Field required"),
])
def test_bad_configs_fail_with_one_line(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_config(doc, "gw.yaml")
    assert "\n" not in err.value.detail
    assert err.value.detail.startswith("gw.yaml: ")
    assert message in err.value.detail, err.value.detail


def test_secrets_come_from_env_or_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text("file-secret\n")
    monkeypatch.setenv("GH_TOKEN", "env-secret")
    cfg = config(env={"GITHUB_TOKEN": {"from_env": "GH_TOKEN"},
                      "OTHER": {"from_file": str(secret), "prefix": "Bearer "}, "PLAIN": "1"})
    assert cfg.resolved_env("gh") == {"GITHUB_TOKEN": "env-secret",
                                      "OTHER": "Bearer file-secret", "PLAIN": "1"}
    monkeypatch.delenv("GH_TOKEN")
    with pytest.raises(ConfigurationError, match=r"upstreams\.gh\.env\.GITHUB_TOKEN: "
                                                 "environment variable GH_TOKEN is not set"):
        cfg.check_secrets()


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("signoff:\n  workflow: [unclosed\n")
    with pytest.raises(ConfigurationError, match=r"gw\.yaml:\d+:\d+: invalid YAML"):
        load_config(path)


def test_the_shipped_example_is_valid() -> None:
    cfg = load_config(EXAMPLE, resolve_secrets=False)
    assert "github" in cfg.upstreams


def test_impact_follows_annotations_and_config() -> None:
    cfg = config()
    assert impact_of(cfg, tool(read_only_hint=True))["reversible"] is True
    assert impact_of(cfg, tool(read_only_hint=True))["external"] is False
    unannotated = impact_of(cfg, tool())  # MCP defaults: destructive, open world
    assert unannotated["reversible"] is False and unannotated["external"] is True
    safe = impact_of(cfg, tool(read_only_hint=False, destructive_hint=False,
                               open_world_hint=False))
    assert safe["reversible"] is True and safe["external"] is False
    cfg = config(tools={"t": {"impact": {"reversible": True, "description": "sandbox"}}})
    assert impact_of(cfg, tool())["reversible"] is True
    assert impact_of(cfg, tool())["description"] == "sandbox"


def test_target_paths_kind_and_summary() -> None:
    cfg = config(tools={"t": {"target": "$.args.pr.repo"}, "u": {"target": "repo"},
                        "v": {"target": "repo", "target_default": "any"}})
    call = plan_call(cfg, tool("t"), {"pr": {"repo": "acme/x"}, "_signoff_summary": "why"})
    assert (call.target, call.kind, call.workflow, call.summary) == (
        "acme/x", "mcp.gh.t", "wf", "why")
    assert call.params() == {"pr": {"repo": "acme/x"}}
    assert plan_call(cfg, tool("u"), {"repo": 42}).target == "42"
    assert plan_call(cfg, tool("v"), {}).target == "any"
    assert plan_call(cfg, tool("w"), {}).target == "gh"
    assert plan_call(cfg, tool("w"), {}).summary == "gh.w: Does t."
    with pytest.raises(InvalidRequest, match="'repo' is required"):
        plan_call(cfg, tool("u"), {})
    with pytest.raises(InvalidRequest, match="not a JSON number"):
        plan_call(cfg, tool("u"), {"repo": "x", "n": float("nan")})


def test_config_deny_lists_and_scopes_hide_tools() -> None:
    cfg = config(deny=["admin_*"], tools={"t": {"deny": True, "deny_reason": "use the UI"}})
    assert is_config_denied(cfg, tool("t")) == "use the UI"
    assert is_config_denied(cfg, tool("admin_wipe")) is not None
    assert is_config_denied(cfg, tool("u")) is None
    agent = AgentIdentity(id="a", name="a", status="active", workflows=("wf",),
                          kinds=("mcp.gh.u",))
    assert agent.may_propose("wf", "mcp.gh.u")
    assert not agent.may_propose("wf", "mcp.gh.t")
    assert not agent.may_propose("other", "mcp.gh.u")
