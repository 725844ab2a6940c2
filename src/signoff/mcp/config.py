"""The gateway's configuration file (``gateway.yaml``), validated strictly.

Upstream credentials live here, never with the agent: a value is either a literal string (for
things that are not secret, like ``LOG_LEVEL``) or a reference the gateway resolves when it
starts, ``{from_env: NAME}`` or ``{from_file: PATH}`` (optional ``prefix``, e.g. ``"Bearer "``).
Every problem is reported as one line naming the field: ``upstreams.github.env.GITHUB_TOKEN:
environment variable GH_TOKEN is not set``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from signoff.errors import ConfigurationError

__all__ = [
    "GatewayConfig",
    "ImpactOverride",
    "SecretRef",
    "SignoffSection",
    "ToolRule",
    "Upstream",
    "load_config",
    "parse_config",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_KIND = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """A value the gateway reads at start-up, so the file itself holds no secret."""

    from_env: str | None = None
    from_file: Path | None = None
    prefix: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.from_env is None) == (self.from_file is None):
            raise ValueError("give exactly one of from_env or from_file")
        return self

    def resolve(self) -> str:
        if self.from_env is not None:
            value = os.environ.get(self.from_env)
            if value is None:
                raise ValueError(f"environment variable {self.from_env} is not set")
            return self.prefix + value
        assert self.from_file is not None
        try:
            return self.prefix + self.from_file.expanduser().read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read {self.from_file}: {exc.strerror or exc}") from None


Value = str | SecretRef


class ImpactOverride(_Strict):
    """Overrides what the tool's annotations say about its impact (R13)."""

    reversible: bool | None = None
    external: bool | None = None
    description: str | None = None


class ToolRule(_Strict):
    """How one upstream tool becomes a signoff action."""

    workflow: str | None = None
    kind: str | None = None
    target: str | None = Field(
        default=None, description="argument path: 'repo', 'pr.number', or '$.args.repo' / '$.tool'")
    target_default: str | None = None
    impact: ImpactOverride | None = None
    deny: bool = False
    deny_reason: str = "this tool is not available through the gateway"

    @field_validator("kind")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and not _KIND.match(value):
            raise ValueError(f"kind {value!r} must be dotted, like mcp.github.create_pr")
        return value


class Upstream(_Strict):
    """One MCP server behind the gateway: a command over stdio, or a streamable HTTP URL."""

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, Value] = Field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, Value] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0)] = 300.0
    workflow: str | None = None
    target: str | None = None
    target_default: str | None = None
    deny: list[str] = Field(default_factory=list, description="tool names (globs) never offered")
    tools: dict[str, ToolRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_transport(self) -> Upstream:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (streamable HTTP)")
        if self.url is not None and (self.env or self.args or self.cwd):
            raise ValueError("env, args and cwd are for command upstreams; use headers with url")
        if self.command is not None and self.headers:
            raise ValueError("headers are for url upstreams; use env with command")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self


class SignoffSection(_Strict):
    url: Value = "http://127.0.0.1:8000"
    workflow: str = Field(..., description="default workflow for every gated tool call")
    timeout: Annotated[float, Field(gt=0)] = 10.0


class GatewayConfig(_Strict):
    signoff: SignoffSection
    upstreams: dict[str, Upstream]
    hide_denied: bool = True
    summary_argument: str = "_signoff_summary"
    progress_interval: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_wait: Annotated[float, Field(gt=0)] | None = None
    agent_cache_seconds: Annotated[float, Field(ge=0)] = 30.0

    @field_validator("upstreams")
    @classmethod
    def _names(cls, value: dict[str, Upstream]) -> dict[str, Upstream]:
        if not value:
            raise ValueError("configure at least one upstream")
        for name in value:
            if not _NAME.match(name) or "." in name:
                raise ValueError(f"upstream name {name!r}: letters, digits, '-' and '_' only")
        return value

    def resolved_env(self, name: str) -> dict[str, str]:
        return _resolve(self.upstreams[name].env, f"upstreams.{name}.env")

    def resolved_headers(self, name: str) -> dict[str, str]:
        return _resolve(self.upstreams[name].headers, f"upstreams.{name}.headers")

    def signoff_url(self) -> str:
        return _resolve({"url": self.signoff.url}, "signoff")["url"].rstrip("/")

    def check_secrets(self) -> None:
        """Resolve every reference once, so a missing secret stops the gateway at start."""
        self.signoff_url()
        for name in self.upstreams:
            self.resolved_env(name)
            self.resolved_headers(name)


def _resolve(values: dict[str, Value], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            out[key] = value
            continue
        try:
            out[key] = value.resolve()
        except ValueError as exc:
            raise ConfigurationError(f"{where}.{key}: {exc}") from None
    return out


def _loc(err: Any) -> str:
    parts = [str(p) for p in err["loc"]
             if not str(p).startswith(("function-", "str")) and str(p) != "SecretRef"]
    return ".".join(parts)


def _one_line(exc: ValidationError, source: str) -> str:
    errors = exc.errors()
    # A value that may be a string or a reference fails both ways: say why the reference failed.
    err = next((e for e in errors if e["type"] != "string_type"), errors[0])
    places = {_loc(e) for e in errors}
    msg = str(err["msg"]).removeprefix("Value error, ")
    more = f" (and {len(places) - 1} more)" if len(places) > 1 else ""
    return f"{source}: {_loc(err) or 'top level'}: {msg}{more}"


def parse_config(data: Any, source: str = "gateway config") -> GatewayConfig:
    """Validate a loaded document; raises ``ConfigurationError`` with one line."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: expected a mapping at the top level")
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(_one_line(exc, source)) from None


def load_config(path: Path, *, resolve_secrets: bool = True) -> GatewayConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigurationError(f"{path}{where}: invalid YAML: {problem}") from None
    config = parse_config(data, str(path))
    if resolve_secrets:
        config.check_secrets()
    return config

