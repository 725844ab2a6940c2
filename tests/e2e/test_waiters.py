"""1,000 concurrent long-poll waiters on one server process."""

from __future__ import annotations

import asyncio
import contextlib
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
    # One client per action, as separate agents would have. A single httpx pool of 1,000
    # connections spends O(connections) per request, which made this test's own process the
    # bottleneck (20 s of its CPU against 1.5 s of the server's) instead of the server.
    async with contextlib.AsyncExitStack() as stack:
        agents = [await stack.enter_async_context(httpx.AsyncClient(
            base_url=live.url, headers=auth, timeout=90, verify=False,
            limits=httpx.Limits(max_connections=WAITERS // ACTIONS + 2)))
            for _ in range(ACTIONS)]
        owner = await stack.enter_async_context(httpx.AsyncClient(
            base_url=live.url, timeout=30,
            headers={"Authorization": f"Bearer {live.tokens['olivia']}"}))
        ids = []
        for i in range(ACTIONS):
            r = await agents[0].post("/v1/actions", json={"workflow": "prod-deploys",
                                                          "kind": "deploy.release",
                                                          "target": f"svc/{i}", "params": {}})
            ids.append(r.json()["id"])

        async def wait_until_decided(agent: httpx.AsyncClient, action_id: str
                                     ) -> httpx.Response:
            # What a client does: long-poll again while the answer is still "pending".
            while True:
                r = await agent.get(f"/v1/actions/{action_id}/wait", params={"timeout": 30})
                if r.status_code != 200 or r.json()["status"] != "pending":
                    return r

        waiters = [asyncio.create_task(wait_until_decided(agents[i % ACTIONS], ids[i % ACTIONS]))
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
