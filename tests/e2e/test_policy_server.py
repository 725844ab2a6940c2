"""A real `signoff serve` with a policy file: refuses a bad one, reloads (API and SIGHUP)."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from signoff.adapters.policy import default_policy_path, load_policy
from signoff.bootstrap import build
from signoff.config import load_settings
from tests.conftest import cli, free_port, prepare, start_server
from tests.e2e.conftest import init_workspace

BROKEN = "  - id: broken\n    when: action.kind ==\n    tier: low\n"


def test_serve_refuses_an_invalid_policy_with_one_line_errors(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    prepare(data_dir, f"sqlite:///{data_dir / 'signoff.db'}")
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_policy_path().read_text()
                   .replace("rules:\n", "rules:\n" + BROKEN, 1)
                   .replace("tier: critical\n", "tier: severe\n", 1))
    result = cli("serve", "--port", str(free_port()), check=False,
                 env={"SIGNOFF_DATA_DIR": str(data_dir), "SIGNOFF_POLICY": str(bad)})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 2 and "Traceback" not in result.stderr
    for line in lines:
        assert line.startswith(f"signoff: error: {bad}:"), line
        where = line.removeprefix(f"signoff: error: {bad}:").split(":")
        assert where[0].isdigit() and where[1].isdigit() and int(where[0]) > 0, line
    assert any("rule broken" in line for line in lines)


def _events(data_dir: Path, policy: Path | None, type_: str) -> list[dict[str, Any]]:
    app = build(load_settings(data_dir=data_dir, policy=policy))
    try:
        with app.ctx.uow(readonly=True) as uow:
            return [e for e in uow.audit.events(limit=100_000) if e["type"] == type_]
    finally:
        app.close()


def _wait_for_version(client: httpx.Client, old: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version: str = client.get("/v1/policy").json()["active"]["version"]
        if version != old:
            return version
        time.sleep(0.1)
    raise AssertionError(f"the policy version stayed {old}")


def test_reload_by_api_and_sighup_keeps_the_last_good_policy(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    admin_token = init_workspace(data_dir, None)
    policy = tmp_path / "policy.yaml"
    shutil.copyfile(default_policy_path(), policy)
    good_text = policy.read_text()
    server = start_server(data_dir, env={"SIGNOFF_POLICY": str(policy)})
    try:
        client = httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {admin_token}"})
        first = client.get("/v1/policy").json()["active"]
        assert first["path"] == str(policy) and "agent-elevation" in first["rule_ids"]
        assert client.get("/healthz").json()["policy_version"] == first["version"]
        # a bad file: the API reload says why and keeps the last good policy
        policy.write_text(good_text.replace("rules:\n", "rules:\n" + BROKEN, 1))
        r = client.post("/v1/policy/reload")
        assert r.status_code == 422, r.text  # an error status: `curl --fail` notices
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "policy_reload_failed" and r.json()["ok"] is False
        assert r.json()["version"] == first["version"]
        assert any("rule broken" in e for e in r.json()["errors"])
        assert "rule broken" in r.json()["detail"]
        # SIGHUP with the bad file: still serving, same policy
        server.process.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert server.process.poll() is None
        assert client.get("/v1/policy").json()["active"]["version"] == first["version"]
        # SIGHUP with a good edit: the new version is in force
        policy.write_text(good_text.replace("tier: high\n", "tier: critical\n", 1))
        server.process.send_signal(signal.SIGHUP)
        second = _wait_for_version(client, first["version"])
        assert client.get("/healthz").json()["policy_version"] == second
        client.close()
    finally:
        server.stop()
    loaded = _events(data_dir, policy, "policy.loaded")
    assert [e["data"]["version"] for e in loaded] == [first["version"]]
    failed = _events(data_dir, policy, "policy.reload_failed")
    assert [e["data"]["trigger"] for e in failed] == ["api", "sighup"]
    reloaded = _events(data_dir, policy, "policy.reloaded")
    assert [(e["data"]["trigger"], e["data"]["version"]) for e in reloaded] == \
        [("sighup", second)]


def test_without_signoff_policy_serve_runs_the_shipped_default_and_sighup_rereads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNOFF_POLICY", raising=False)
    monkeypatch.delenv("SIGNOFF_POLICY_SHADOW", raising=False)
    data_dir = tmp_path / "data"
    admin_token = init_workspace(data_dir, None)
    shipped = load_policy(default_policy_path()).version
    server = start_server(data_dir)
    try:
        assert f"Policy: shipped default version {shipped}" in server.log.read_text()
        client = httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {admin_token}"})
        info = client.get("/v1/policy").json()
        assert info["source"] == "shipped_default" and info["active"]["version"] == shipped
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _events(data_dir, None, "policy.reloaded"):
            time.sleep(0.2)
        assert server.process.poll() is None  # still serving, same policy
        assert client.get("/healthz").json()["policy_version"] == shipped
        client.close()
    finally:
        server.stop()
    [reloaded] = _events(data_dir, None, "policy.reloaded")
    assert reloaded["data"]["trigger"] == "sighup" and reloaded["data"]["changed"] is False
    assert reloaded["data"]["source"] == "shipped_default"
    assert [e["data"]["source"] for e in _events(data_dir, None, "policy.loaded")] == \
        ["shipped_default"]
