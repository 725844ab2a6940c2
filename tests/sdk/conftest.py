"""A real signoff server for the SDK's live tests: a subprocess on a free port, SQLite in tmp.

The server gets a test policy (``SIGNOFF_POLICY``) equal to the shipped tiers except
``min_review_seconds: 0`` for ``high``, so a held call can be approved at once; the approve
helper still honours ``review_too_soon`` (sleeping ``seconds_left``) should the server ignore it.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from signoff.client import Client

TEST_POLICY = """\
version: 1
default_tier: high
tiers:
  low:      {mode: allow, post_review_sample: 0.0}
  medium:   {mode: allow_and_review, post_review_sample: 1.0}
  high:     {mode: require_approval, approvals: 1, min_review_seconds: 0,
             rationale_required: true, escalate_after: 30m, expires_in: 4h, grant_ttl: 5m}
  critical: {mode: require_approval, approvals: 2, min_review_seconds: 0,
             rationale_required: true, escalate_after: 15m, expires_in: 1h, grant_ttl: 2m}
rules:
  - id: no-prod-secrets
    when: action.kind.startsWith("secrets.") && action.target.startsWith("prod/")
    deny: "agents may not read production secrets"
  - id: payments
    when: action.kind.startsWith("payments.")
    tier: high
  - id: internal-drafting
    when: action.kind.startsWith("draft.")
    tier: low
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    url: str
    admin_token: str
    agent_token: str
    agent_id: str
    reviewer_token: str
    workflow: str

    def http(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    def call(self, token: str, method: str, path: str, **kw: Any) -> Any:
        with self.http(token) as http:
            response = http.request(method, path, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    def new_agent(self, name: str | None = None) -> tuple[str, str]:
        body = self.call(self.admin_token, "POST", "/v1/agents", json={
            "name": name or f"agent-{uuid.uuid4().hex[:6]}", "owner": "otto@example.com",
            "scopes": {"workflows": ["*"], "kinds": ["*"]}})
        return body["id"], body["token"]

    def pending_ids(self) -> list[str]:
        body = self.call(self.admin_token, "GET", "/v1/actions",
                         params={"status": "pending", "workflow": self.workflow})
        return [item["id"] for item in body["items"]]

    def review(self, action_id: str, verdict: str,
               rationale: str = "Checked the payload, ok.") -> Any:
        """Decide as the reviewer: open the detail first (R15), then post the verdict."""
        self.call(self.reviewer_token, "GET", f"/v1/actions/{action_id}")
        deadline = time.monotonic() + 40
        while True:
            with self.http(self.reviewer_token) as http:
                response = http.post(f"/v1/actions/{action_id}/reviews",
                                     json={"verdict": verdict, "rationale": rationale})
            if response.status_code == 422 and response.json().get("code") == "review_too_soon" \
                    and time.monotonic() < deadline:
                time.sleep(float(response.json().get("seconds_left", 1)) + 0.2)
                continue
            assert response.status_code < 300, response.text
            return response.json()

    def decide_next(self, verdict: str, timeout: float = 20.0) -> str:
        """Wait for the next pending action in the workflow and decide it; returns its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.pending_ids()
            if ids:
                self.review(ids[0], verdict)
                return ids[0]
            time.sleep(0.05)
        raise AssertionError("no pending action showed up")


@pytest.fixture
def agent(live: Live) -> Iterator[Callable[..., Client]]:
    """Build SDK clients for the live server (the default agent's unless a token is given)."""
    made: list[Client] = []

    def build(token: str | None = None) -> Client:
        made.append(Client(live.url, token or live.agent_token))
        return made[-1]

    yield build
    for client in made:
        client.close()


def _cli_missing() -> bool:
    try:
        importlib.import_module("signoff.cli.main")
    except ImportError:
        return True
    return False


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if _cli_missing():
        pytest.skip("signoff.cli.main is not there yet: live SDK tests need the real server")
    root = tmp_path_factory.mktemp("signoff-live")
    policy = root / "policy.yaml"
    policy.write_text(TEST_POLICY)
    env = {**os.environ, "SIGNOFF_DATA_DIR": str(root / "data"), "SIGNOFF_POLICY": str(policy),
           "SIGNOFF_SECURE_COOKIES": "false"}
    env.pop("SIGNOFF_DATABASE_URL", None)
    cli = [sys.executable, "-m", "signoff.cli.main"]
    init = subprocess.run([*cli, "init"], env=env, capture_output=True, text=True, timeout=120,
                          cwd=root)
    assert init.returncode == 0, init.stderr + init.stdout
    admin = next(line.strip() for line in init.stdout.splitlines()
                 if line.strip().startswith("so_user_"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("w")
    env["SIGNOFF_PUBLIC_URL"] = url
    proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_healthy(url, proc, root / "server.log")
        yield _provision(url, admin)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not healthy after 60s:\n{log.read_text()}")


def _provision(url: str, admin: str) -> Live:
    live = Live(url=url, admin_token=admin, agent_token="", agent_id="", reviewer_token="",
                workflow="sdk-tests")
    for email, roles in (("rita@example.com", ["reviewer", "owner"]),
                         ("otto@example.com", ["owner"])):
        user = live.call(admin, "POST", "/v1/users", json={"email": email, "name": email,
                                                           "roles": roles})
        if email.startswith("rita"):
            live.reviewer_token = live.call(admin, "POST", f"/v1/users/{user['id']}/tokens",
                                            json={"name": "sdk-tests"})["token"]
    live.call(admin, "POST", "/v1/workflows", json={"name": live.workflow,
                                                    "owner": "rita@example.com"})
    live.agent_id, live.agent_token = live.new_agent("sdk-agent")
    return live
