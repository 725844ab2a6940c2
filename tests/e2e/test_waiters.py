"""1,000 concurrent long-poll waiters on one server process."""

from __future__ import annotations

import asyncio
import resource
import time

import httpx
import pytest

from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.e2e
WAITERS, ACTIONS = 1000, 50


def test_a_thousand_waiters_are_fine(live: Workspace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    asyncio.run(_run(live))


async def _run(live: Workspace) -> None:
    auth = {"Authorization": f"Bearer {live.tokens['agent']}"}
    limits = httpx.Limits(max_connections=WAITERS + 10, max_keepalive_connections=WAITERS)
    async with httpx.AsyncClient(base_url=live.url, headers=auth, limits=limits,
                                 timeout=90) as agent, \
            httpx.AsyncClient(base_url=live.url, timeout=30, headers={
                "Authorization": f"Bearer {live.tokens['olivia']}"}) as owner:
        ids = []
        for i in range(ACTIONS):
            r = await agent.post("/v1/actions", json={"workflow": "prod-deploys",
                                                      "kind": "deploy.release",
                                                      "target": f"svc/{i}", "params": {}})
            ids.append(r.json()["id"])

        async def wait_until_decided(action_id: str) -> httpx.Response:
            # What a client does: long-poll again while the answer is still "pending".
            while True:
                r = await agent.get(f"/v1/actions/{action_id}/wait", params={"timeout": 30})
                if r.status_code != 200 or r.json()["status"] != "pending":
                    return r

        waiters = [asyncio.create_task(wait_until_decided(ids[i % ACTIONS]))
                   for i in range(WAITERS)]
        # Let every waiter reach the server and settle into its wait.
        for _ in range(600):  # generous: the machine running CI is small and shared
            await asyncio.sleep(0.2)
            health = (await owner.get("/healthz")).json()
            if health["waiters"] >= WAITERS:
                break
        assert health["waiters"] >= WAITERS, health
        t0 = time.monotonic()
        assert (await owner.get("/healthz")).status_code == 200
        assert time.monotonic() - t0 < 2.0  # still responsive with 1,000 waiters parked
        for aid in ids:
            r = await owner.post(f"/v1/actions/{aid}/cancel", json={"reason": "load test"})
            assert r.status_code == 200
        answers = await asyncio.gather(*waiters)
        bad = [(a.status_code, a.text[:200]) for a in answers
               if a.status_code != 200 or a.json()["status"] != "cancelled"]
        assert not bad, (len(bad), bad[:3])
        assert (await owner.get("/healthz")).json()["waiters"] == 0
