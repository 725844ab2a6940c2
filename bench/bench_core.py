"""Core figures (issue 2): auto-allowed proposals over HTTP and decision-to-wake latency.

    python bench/bench_core.py [--seconds 10] [--postgres URL] [--out docs/benchmarks-core.md]

Starts real `signoff serve` processes (SQLite: one, then one with `--workers 2`; PostgreSQL: two
on one database), creates a workflow and an agent over the API, then measures:
  1. throughput: `wrk` (one thread, 16 connections) posting auto-allowed proposals;
  2. latency at a fixed rate (``--rate``, default 200 proposals/s; open loop), p50/p99;
  3. decision-to-wake: a waiter long-polls, the owner cancels; time from the decision's answer
     to the waiter's answer (and from sending the decision), p50/p99.
The load generator runs on the same 2-core machine as the server, so absolute figures are a
floor; compare runs in the same command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import drop_pg_schema, free_port, start_server  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/v1/actions", nil,
    '{"workflow":"bench","kind":"draft.reply","target":"t","params":{"n":' .. counter .. '}}')
end
"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "signoff.cli.main", *args], env={**os.environ,
                         **env}, capture_output=True, text=True, check=True)
    return out.stdout


def setup(data_dir: Path, db_url: str | None) -> dict[str, str]:
    env = {"SIGNOFF_DATA_DIR": str(data_dir)}
    if db_url:
        env["SIGNOFF_DATABASE_URL"] = db_url
    admin = [x for x in cli(env, "init").splitlines() if x.startswith("so_user_")][0]
    return {"admin": admin, **env}


def seed(url: str, admin: str) -> dict[str, str]:
    h = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, headers=h) as c:
        owner = c.post("/v1/users", json={"email": "owner@example.com", "roles": ["owner"]}
                       ).json()
        owner_token = c.post(f"/v1/users/{owner['id']}/tokens", json={"name": "b"}).json()
        c.post("/v1/workflows", json={"name": "bench", "owner": "owner@example.com"})
        agent = c.post("/v1/agents", json={"name": "bench-bot", "owner": "owner@example.com",
                                           "scopes": {"workflows": ["bench"], "kinds": ["*"]}}
                       ).json()
    return {"agent": agent["token"], "owner": owner_token["token"]}


def wrk(urls: list[str], token: str, seconds: int) -> tuple[float, int]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA % token)
    procs = [subprocess.Popen(["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(script), u],
                              stdout=subprocess.PIPE, text=True) for u in urls]
    total, errors = 0.0, 0
    for p in procs:
        out = p.communicate()[0]
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors += int(m.group(1)) if m else 0
    return total, errors


async def fixed_rate(urls: list[str], token: str, rate: float, seconds: float) -> list[float]:
    latencies: list[float] = []
    clients = [httpx.AsyncClient(base_url=u, headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=64)) for u in urls]

    async def one(i: int) -> None:
        c = clients[i % len(clients)]
        t0 = time.perf_counter()
        r = await c.post("/v1/actions", json={"workflow": "bench", "kind": "draft.reply",
                                              "target": "t", "params": {"r": i}})
        latencies.append(time.perf_counter() - t0)
        assert r.status_code == 201, r.text

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    for c in clients:
        await c.aclose()
    return latencies


async def wake(urls: list[str], tokens: dict[str, str], rounds: int) -> tuple[list[float],
                                                                               list[float]]:
    agent = httpx.AsyncClient(base_url=urls[-1], headers={"Authorization":
                                                          f"Bearer {tokens['agent']}"})
    owner = httpx.AsyncClient(base_url=urls[0], headers={"Authorization":
                                                         f"Bearer {tokens['owner']}"})
    after_answer, after_send = [], []
    for _ in range(rounds):
        action = (await agent.post("/v1/actions", json={"workflow": "bench",
                                                        "kind": "deploy.release",
                                                        "target": "t", "params": {}})).json()
        got: dict[str, float] = {}

        async def waiter(aid: str = action["id"], got: dict[str, float] = got) -> None:
            await agent.get(f"/v1/actions/{aid}/wait", params={"timeout": 30})
            got["at"] = time.perf_counter()

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.05)
        sent = time.perf_counter()
        await owner.post(f"/v1/actions/{action['id']}/cancel", json={"reason": "bench"})
        answered = time.perf_counter()
        await task
        after_answer.append(max(0.0, got["at"] - answered))
        after_send.append(got["at"] - sent)
    await agent.aclose()
    await owner.aclose()
    return after_answer, after_send


def run(label: str, db_url: str | None, processes: int, seconds: int,
        rate: float = 200, workers: int = 1) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="signoff-bench-"))
    env = setup(data_dir, db_url)
    servers = [start_server(data_dir, db_url, port=free_port(), workers=workers)
               for _ in range(processes)]
    try:
        urls = [s.url for s in servers]
        tokens = seed(urls[0], env["admin"])
        wrk(urls, tokens["agent"], 2)  # warm-up
        rps, errors = wrk(urls, tokens["agent"], seconds)
        lat = asyncio.run(fixed_rate(urls, tokens["agent"], rate, seconds))
        woke, woke_send = asyncio.run(wake(urls, tokens, 50))
        return {"setup": label, "proposals_per_s": round(rps), "non_2xx": errors,
                f"p50_ms_at_{rate:g}_per_s": round(pct(lat, 50) * 1000, 2),
                f"p99_ms_at_{rate:g}_per_s": round(pct(lat, 99) * 1000, 2),
                "wake_p50_ms": round(pct(woke, 50) * 1000, 2),
                "wake_p99_ms": round(pct(woke, 99) * 1000, 2),
                "decision_sent_to_wake_p50_ms": round(pct(woke_send, 50) * 1000, 2)}
    finally:
        for s in servers:
            s.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--postgres", default=os.environ.get("SIGNOFF_TEST_POSTGRES_URL"))
    ap.add_argument("--rate", type=float, default=200, help="fixed rate for the latency run")
    ap.add_argument("--out")
    args = ap.parse_args()
    rows = [run("SQLite, 1 process", None, 1, args.seconds, args.rate),
            run("SQLite, `serve --workers 2`", None, 1, args.seconds, args.rate, workers=2)]
    if args.postgres:
        os.environ["SIGNOFF_TEST_POSTGRES_URL"] = args.postgres
        from tests.conftest import fresh_pg_schema
        url = fresh_pg_schema()
        try:
            rows.append(run("PostgreSQL, 2 processes", url, 2, args.seconds, args.rate))
        finally:
            drop_pg_schema(url)
    for r in rows:
        print(json.dumps(r))
    if args.out:
        keys = list(rows[0])
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
