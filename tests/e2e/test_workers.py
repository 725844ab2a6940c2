"""`signoff serve --workers 2`: both processes take connections, one port, clean shutdown."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import signoff
from tests.conftest import free_port
from tests.e2e.conftest import Workspace, init_workspace, seed

DEFAULT_POLICY = Path(signoff.__file__).parent / "policy" / "default.yaml"
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="Linux only")]


def _serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "signoff.cli.main", "serve", "--port", str(port),
             "--workers", "2", "--log-level", "warning"],
            env={**os.environ, "SIGNOFF_DATA_DIR": str(data_dir),
                 "SIGNOFF_POLICY": str(data_dir / "policy.yaml")},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


def test_two_workers_share_the_load_and_stop_together(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    admin = init_workspace(data_dir, None)
    policy = data_dir / "policy.yaml"
    policy.write_text(DEFAULT_POLICY.read_text())
    port = free_port()
    proc = _serve(data_dir, port, tmp_path / "first.log")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        ws = Workspace(servers=[], admin=admin)
        ws.servers = [type("S", (), {"url": url})()]  # seed() only needs the URL
        seed(ws)
        workers = _children(proc.pid)
        before = {p: _cpu_ticks(p) for p in workers}
        # Many short-lived connections: the kernel spreads them over the workers' sockets.
        for i in range(120):
            with httpx.Client(base_url=url, headers={
                    "Authorization": f"Bearer {ws.tokens['agent']}"}) as c:
                r = c.post("/v1/actions", json={"workflow": "prod-deploys",
                                                "kind": "draft.note", "target": f"t{i}",
                                                "params": {"i": i}})
                assert r.status_code == 201, r.text
        busy = [p for p in workers if _cpu_ticks(p) - before[p] >= 5]
        assert len(busy) >= 2, {p: _cpu_ticks(p) - before[p] for p in workers}
        # A decision taken in one process wakes a long-poll parked in the other (new
        # connections land on either worker; six rounds miss the other one 1 time in 64).
        for _ in range(6):
            agent = {"Authorization": f"Bearer {ws.tokens['agent']}"}
            r = httpx.post(url + "/v1/actions", headers=agent, json={
                "workflow": "prod-deploys", "kind": "deploy.release", "params": {}})
            assert r.json()["status"] == "pending", r.text
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(httpx.get, f"{url}/v1/actions/{r.json()['id']}/wait",
                                      params={"timeout": 20}, headers=agent, timeout=30)
                time.sleep(0.3)
                t0 = time.monotonic()
                httpx.post(f"{url}/v1/actions/{r.json()['id']}/cancel", json={"reason": "t"},
                           headers={"Authorization": f"Bearer {ws.tokens['olivia']}"})
                assert waiting.result().json()["status"] == "cancelled"
                assert time.monotonic() - t0 < 2.0  # not the 5 s safety net
        # SIGHUP to the supervisor reloads the policy in every worker.
        def versions() -> set[str]:
            return {httpx.get(url + "/v1/policy", headers={"Authorization": f"Bearer {admin}"}
                              ).json()["active"]["version"] for _ in range(16)}

        [old] = versions()
        policy.write_text(DEFAULT_POLICY.read_text() + "\n# reviewed again\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while (seen := versions()) and (len(seen) != 1 or old in seen):  # both on the new one
            assert time.monotonic() < deadline, seen
            time.sleep(0.2)
        # A port that is taken is one clear line, and nothing starts.
        second = _serve(data_dir, port, tmp_path / "second.log")
        try:
            second.wait(timeout=60)
        finally:
            if second.poll() is None:  # it must not linger if it wrongly started
                os.killpg(second.pid, signal.SIGKILL)
                second.wait()
        err = (tmp_path / "second.log").read_bytes()
        assert second.returncode != 0 and b"cannot listen on" in err, err
        assert b"Traceback" not in err
        ws.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], [_state(p) for p in workers]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] + " " + \
            Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")[:120]
    except FileNotFoundError:
        return "gone"


def _alive(pid: int) -> bool:
    return _state(pid) not in ("gone",) and not _state(pid).startswith("Z")
