"""The console browser tests' workspace: a live server, proposals over HTTP, two days of
seeded history (see :func:`history`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from signoff.domain.actions import ActionRequest, Impact
from signoff.domain.identities import Principal, PrincipalKind
from signoff.services import actions, identities, queries, reviews, workflows
from tests.conftest import ADMIN, LiveServer, start_server

__all__ = ["Live", "history", "start", "submit", "wait_for_status"]


@dataclass
class Live:
    server: LiveServer
    db_url: str
    agent_token: str
    mail_token: str
    ids: dict[str, str] = field(default_factory=dict)
    started: float = 0.0


def submit(live: Live, token: str, **body: Any) -> dict[str, Any]:
    body.setdefault("impact", {"reversible": True, "external": False, "description": ""})
    r = httpx.post(live.server.url + "/v1/actions", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_for_status(live: Live, action_id: str, status: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = httpx.get(f"{live.server.url}/v1/actions/{action_id}", timeout=30,
                      headers={"Authorization": f"Bearer {live.agent_token}"})
        if r.json()["status"] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{action_id} never became {status}")


def start(data_dir: Path, url: str) -> LiveServer:
    """start_server, once more if a loaded machine was too slow to import within its deadline."""
    env = {"SIGNOFF_SECURE_COOKIES": "false"}
    try:
        return start_server(data_dir, url, env=env)
    except RuntimeError as exc:
        if "did not start" not in str(exc):
            raise
        return start_server(data_dir, url, env=env)


def history(app: Any, world: Any) -> str:
    """Decided work from two days ago: sid approves everything in 16 s (a rubber stamp), rita
    and olivia take minutes and sometimes reject; one action is never decided (it expires once
    the server runs); a second workflow has refunds waiting for olivia and sid, one of them
    past its SLA."""
    clock = app.ctx.clock
    workflows.create_workflow(app.ctx, ADMIN, name="refunds", owner_email="olivia@example.com",
                              backups=["sid@example.com"])
    refund_bot = identities.create_agent(
        app.ctx, ADMIN, name="refund-bot", owner_email="ash@example.com",
        scopes={"workflows": ["refunds"], "kinds": ["payments.*"]})[0]
    bot = Principal(kind=PrincipalKind.AGENT, id=refund_bot.id, name=refund_bot.name)

    def propose(agent: Any, workflow: str, kind: str, target: str, **params: Any) -> str:
        return actions.submit_action(app.ctx, agent, ActionRequest(
            workflow=workflow, kind=kind, target=target, params=params or {"n": target},
            summary=f"{kind} on {target}", impact=Impact(reversible=True, external=True)))[0].id

    plan = [(world.sid, 16, "approve")] * 12 + [(world.rita, 300, "approve")] * 8 \
        + [(world.rita, 280, "reject")] * 2 + [(world.owner, 200, "approve")] * 6
    for n, (who, dwell, verdict) in enumerate(plan):
        action_id = propose(world.agent, "prod-deploys", "deploy.release", f"prod/svc-{n}")
        queries.get_action(app.ctx, who, action_id)
        clock.advance(dwell)
        reviews.review_action(app.ctx, who, action_id, verdict=verdict,
                              rationale="read the diff and the CI run")
    forgotten = propose(world.agent, "prod-deploys", "deploy.release", "prod/forgotten")
    # Refunds waiting now; the first one since 35 minutes, past its SLA (escalated at start).
    clock.advance((datetime.now(UTC) - clock.now()).total_seconds() - 35 * 60)
    propose(bot, "refunds", "payments.send", "cus_1", amount=120, currency="EUR")
    clock.advance(35 * 60)
    propose(bot, "refunds", "payments.send", "cus_2", amount=4800, currency="EUR")
    propose(bot, "refunds", "payments.send", "cus_3", amount=60, currency="EUR")
    return forgotten
