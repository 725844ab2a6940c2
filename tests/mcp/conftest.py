"""A real signoff server, the upstream test server and the gateway (stdio and HTTP).

The server runs with a test policy: read-only MCP tools are ``low`` (allowed), anything
irreversible or external is ``high`` with ``min_review_seconds: 0`` (so a test can approve at
once), a target under ``expire/`` expires after 2 s, and deleting the ``prod`` branch is denied.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import free_port, start_server

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "upstream_server.py"
DEPLOY_SECRET = "deploy-secret-1234"

TEST_POLICY = """\
version: 1
default_tier: high
tiers:
  low:      {mode: allow, post_review_sample: 0.0}
  medium:   {mode: allow_and_review, post_review_sample: 0.0}
  high:     {mode: require_approval, approvals: 1, min_review_seconds: 0,
             rationale_required: true, escalate_after: 30m, expires_in: 4h, grant_ttl: 5m}
  critical: {mode: require_approval, approvals: 2, min_review_seconds: 0,
             rationale_required: true, escalate_after: 15m, expires_in: 1h, grant_ttl: 2m}
rules:
  - id: read-only-tools
    when: action.kind.startsWith("mcp.") && action.impact.reversible && !action.impact.external
    tier: low
  - id: irreversible-or-external
    when: "!action.impact.reversible || action.impact.external"
    tier: high
  - id: quick-expiry
    when: action.target.startsWith("expire/")
    tier: high
    expires_in: 2s
  - id: no-prod-deletes
    when: action.kind == "mcp.tools.delete_branch" && action.target == "prod"
    deny: "deleting branches of prod is not allowed"
  - id: no-wipes
    when: action.kind == "mcp.tools.wipe_repo"
    deny: "repositories are never wiped by an agent"
"""

GATEWAY_YAML = """\
signoff:
  url: {url}
  workflow: mcp-tests
progress_interval: 0.3
upstreams:
  tools:
    command: {python}
    args: ["{upstream}"]
    env:
      DEPLOY_TOKEN: {{from_env: TEST_DEPLOY_SECRET}}
      UPSTREAM_LOG: "{log}"
    tools:
      read_file: {{target: repo}}
      delete_branch: {{target: repo}}
      deploy: {{target: "$.args.service"}}
      echo: {{target_default: echo}}
"""


@dataclass
class Live:
    url: str
    admin_token: str
    reviewer_token: str
    agent_token: str
    narrow_token: str
    root: Path

    def call(self, token: str, method: str, path: str, **kw: Any) -> Any:
        with httpx.Client(base_url=self.url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            response = http.request(method, path, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    def action(self, action_id: str) -> Any:
        return self.call(self.admin_token, "GET", f"/v1/actions/{action_id}")

    def actions(self, status: str | None = None) -> list[Any]:
        params = {"workflow": "mcp-tests", "limit": 200, **({"status": status} if status else {})}
        return list(self.call(self.admin_token, "GET", "/v1/actions", params=params)["items"])

    def wait_for_pending(self, kind: str, known: set[str], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.actions("pending"):
                if item["kind"] == kind and item["id"] not in known:
                    return str(item["id"])
            time.sleep(0.05)
        raise AssertionError(f"no pending {kind} action showed up")

    def review(self, action_id: str, verdict: str, rationale: str) -> Any:
        """Decide as the human: open the full detail first (R15), then post the verdict."""
        self.call(self.reviewer_token, "GET", f"/v1/actions/{action_id}")
        return self.call(self.reviewer_token, "POST", f"/v1/actions/{action_id}/reviews",
                         json={"verdict": verdict, "rationale": rationale})

    def wait_status(self, action_id: str, statuses: set[str], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            record = self.action(action_id)
            if record["status"] in statuses or time.monotonic() > deadline:
                return record
            time.sleep(0.05)

    def pending_ids(self) -> set[str]:
        return {str(item["id"]) for item in self.actions("pending")}

    @property
    def upstream_log(self) -> Path:
        return self.root / "upstream.log"

    def executed(self) -> list[str]:
        if not self.upstream_log.exists():
            return []
        return self.upstream_log.read_text().splitlines()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("signoff-mcp")
    policy = root / "policy.yaml"
    policy.write_text(TEST_POLICY)
    data = root / "data"
    env = {**os.environ, "SIGNOFF_DATA_DIR": str(data), "SIGNOFF_POLICY": str(policy),
           "SIGNOFF_SECURE_COOKIES": "false"}
    env.pop("SIGNOFF_DATABASE_URL", None)
    init = subprocess.run([sys.executable, "-m", "signoff.cli.main", "init"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert init.returncode == 0, init.stderr + init.stdout
    admin = next(line.strip() for line in init.stdout.splitlines()
                 if line.strip().startswith("so_user_"))
    server = start_server(data, env={"SIGNOFF_POLICY": str(policy),
                                     "SIGNOFF_SECURE_COOKIES": "false"})
    try:
        yield _provision(server.url, admin, root)
    finally:
        server.stop()


def _provision(url: str, admin: str, root: Path) -> Live:
    live = Live(url=url, admin_token=admin, reviewer_token="", agent_token="", narrow_token="",
                root=root)
    for email, roles in (("rita@example.com", ["reviewer", "owner"]),
                         ("otto@example.com", ["owner"])):
        user = live.call(admin, "POST", "/v1/users",
                         json={"email": email, "name": email, "roles": roles})
        if email.startswith("rita"):
            live.reviewer_token = live.call(admin, "POST", f"/v1/users/{user['id']}/tokens",
                                            json={"name": "mcp-tests"})["token"]
    live.call(admin, "POST", "/v1/workflows", json={"name": "mcp-tests",
                                                    "owner": "rita@example.com"})
    live.agent_token = new_agent(live, ["mcp.tools.*"])
    live.narrow_token = new_agent(live, ["mcp.tools.read_file", "mcp.tools.echo"])
    return live


def new_agent(live: Live, kinds: list[str]) -> str:
    body = live.call(live.admin_token, "POST", "/v1/agents", json={
        "name": f"mcp-agent-{uuid.uuid4().hex[:6]}", "owner": "otto@example.com",
        "scopes": {"workflows": ["mcp-tests"], "kinds": kinds}})
    return str(body["token"])


@pytest.fixture(scope="session")
def gateway_config(live: Live) -> Path:
    path = live.root / "gateway.yaml"
    path.write_text(GATEWAY_YAML.format(url=live.url, python=sys.executable, upstream=UPSTREAM,
                                        log=live.upstream_log))
    return path


def gateway_env(token: str | None) -> dict[str, str]:
    env = {"TEST_DEPLOY_SECRET": DEPLOY_SECRET, "PYTHONUNBUFFERED": "1"}
    if token is not None:
        env["SIGNOFF_AGENT_TOKEN"] = token
    return env


@asynccontextmanager
async def stdio_gateway(config: Path, token: str, env: dict[str, str] | None = None
                        ) -> AsyncIterator[ClientSession]:
    """An MCP client session with a gateway subprocess on stdio, as agent ``token``."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "signoff.cli.main", "mcp-gateway", "--config", str(config)],
        env={**gateway_env(token), **(env or {})})
    async with stdio_client(params) as streams, ClientSession(*streams) as session:
        await session.initialize()
        yield session


@dataclass
class HttpGateway:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def http_gateway(live: Live, gateway_config: Path) -> Iterator[HttpGateway]:
    port = free_port()
    log = (live.root / "gateway-http.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "signoff.cli.main", "mcp-gateway", "--config",
         str(gateway_config), "--transport", "http", "--port", str(port)],
        env={**os.environ, **gateway_env(None)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, live.root / "gateway-http.log")
        yield HttpGateway(url=f"http://127.0.0.1:{port}/mcp", process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited early:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"gateway not listening after 60s:\n{log.read_text()}")


@asynccontextmanager
async def http_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                timeout=httpx2.Timeout(30.0, read=300.0))
    async with client, streamable_http_client(url, http_client=client) as streams, \
            ClientSession(*streams) as session:
        await session.initialize()
        yield session
