"""Proposals may authenticate an agent from the process's token cache; the proposal's own
transaction confirms the token, so revocation takes effect on the next proposal, on both
databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from signoff.adapters.db import tables as t
from signoff.api.app import create_app
from signoff.services import identities, stopping
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World
from tests.integration.core.helpers import events


def _body(i: int) -> dict[str, Any]:
    return {"workflow": "prod-deploys", "kind": "draft.reply", "target": "svc/api",
            "params": {"i": i}, "redeem": True}


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.app, sweeper=False)) as client:
        yield client


def _actions(world: World) -> int:
    with world.app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.actions)).scalar())


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_token_is_refused_on_the_next_proposal_though_cached(
        api: TestClient, world: World) -> None:
    auth = _auth(world.agent_token)
    assert api.post("/v1/actions", json=_body(1), headers=auth).status_code == 201
    assert api.post("/v1/actions", json=_body(2), headers=auth).status_code == 201  # cached
    [token] = identities.list_tokens(world.ctx, ADMIN, world.agent.id)
    identities.revoke_token(world.ctx, ADMIN, token.id)
    count, recorded = _actions(world), len(events(world))
    refused = api.post("/v1/actions", json=_body(3), headers=auth)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert (_actions(world), len(events(world))) == (count, recorded)  # nothing written
    assert api.get("/v1/actions", headers=auth).status_code == 401


def test_a_revoked_or_suspended_agent_is_refused_though_cached(api: TestClient,
                                                               world: World) -> None:
    _, other = identities.create_agent_token(world.ctx, ADMIN, world.agent.id, name="second")
    assert api.post("/v1/actions", json=_body(1), headers=_auth(other)).status_code == 201
    assert api.post("/v1/actions", json=_body(2),
                    headers=_auth(world.agent_token)).status_code == 201
    stopping.suspend_agent(world.ctx, ADMIN, world.agent.id, reason="kill switch")
    suspended = api.post("/v1/actions", json=_body(3), headers=_auth(other))
    assert suspended.status_code == 403 and suspended.json()["code"] == "agent_suspended"
    with world.app.engine.begin() as conn:   # no service revokes an agent yet: as if one had
        conn.execute(t.agents.update().values(status="revoked"))
    revoked = api.post("/v1/actions", json=_body(4), headers=_auth(world.agent_token))
    assert revoked.status_code == 401 and "agent" in revoked.json()["detail"]


def test_a_cached_entry_lapses_after_a_minute_and_the_token_is_touched_again(
        api: TestClient, world: World, clock: FakeClock) -> None:
    auth = _auth(world.agent_token)

    def last_used() -> Any:
        [token] = identities.list_tokens(world.ctx, ADMIN, world.agent.id)
        return token.last_used_at

    assert api.post("/v1/actions", json=_body(1), headers=auth).status_code == 201
    first = last_used()
    assert first is not None
    clock.advance(30)
    assert api.post("/v1/actions", json=_body(2), headers=auth).status_code == 201
    assert last_used() == first                   # served from the cache, confirmed in the unit
    clock.advance(31)
    assert api.post("/v1/actions", json=_body(3), headers=auth).status_code == 201
    assert last_used() > first                    # looked up again, and touched


def test_the_cache_serves_only_proposals(api: TestClient, world: World) -> None:
    auth = _auth(world.agent_token)
    created = api.post("/v1/actions", json=_body(1), headers=auth).json()
    [token] = identities.list_tokens(world.ctx, ADMIN, world.agent.id)
    identities.revoke_token(world.ctx, ADMIN, token.id)
    assert api.get(f"/v1/actions/{created['id']}", headers=auth).status_code == 401
    assert api.post("/v1/outcomes", headers=auth, json={"outcomes": [
        {"action_id": created["id"], "status": "succeeded"}]}).status_code == 401
