"""Just-in-time elevation: granted on approval, scope works, window ends, also after restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.errors import Conflict, Forbidden, GrantRefused, InvalidRequest
from signoff.services import identities
from signoff.services.actions import submit_action
from signoff.services.elevations import list_elevations, revoke_elevation
from signoff.services.grants import redeem_grant
from signoff.services.queries import get_action
from signoff.services.stopping import resume_agent, suspend_agent
from signoff.services.sweeper import sweep
from signoff.testing import FakeClock
from tests.conftest import ADMIN
from tests.integration.policy.conftest import (
    PolicyWorld,
    approve,
    build_policy_app,
    events,
    propose,
    request,
)

ELEVATE = "signoff.agent.elevate"
WANT = {"workflows": ["refunds"], "kinds": ["payments.refund"], "reason": "quarter close",
        "duration": "2h"}


def elevate(world: PolicyWorld, **params: object) -> object:
    return propose(world, ELEVATE, target=f"agent/{world.agent.id}",
                   params={**WANT, **params})


def granted(world: PolicyWorld) -> object:
    action = elevate(world)
    assert action.status.value == "pending" and action.tier == "high"  # type: ignore[attr-defined]
    assert world.admin is not None
    first = approve(world, action.id, world.agent_owner)  # type: ignore[attr-defined]
    assert first["status"] == "pending"          # the agent's owner AND an admin
    done = approve(world, action.id, world.admin)  # type: ignore[attr-defined]
    assert done["status"] == "succeeded"         # applied by signoff itself
    return action


def refund(world: PolicyWorld) -> object:
    return propose(world, "payments.refund", workflow="refunds", target="order/8812",
                   params={"amount": 20, "currency": "EUR"})


def test_elevation_grants_scope_for_its_window_only(pworld: PolicyWorld) -> None:
    with pytest.raises(Forbidden):
        refund(pworld)
    action = granted(pworld)
    assert refund(pworld).status.value == "pending"  # type: ignore[attr-defined]
    with pytest.raises(Forbidden):  # only the kinds asked for
        propose(pworld, "payments.send", workflow="refunds", params={"amount": 1})
    [grant] = events(pworld, type_="agent.elevation_granted")
    assert grant["data"]["workflows"] == ["refunds"] and grant["data"]["seconds"] == 7200
    assert grant["action_id"] == action.id  # type: ignore[attr-defined]
    types = [e["type"] for e in events(pworld, action_id=action.id)]  # type: ignore[attr-defined]
    assert types[-4:] == ["action.approved", "agent.elevation_granted", "grant.redeemed",
                          "action.outcome"]
    clock: FakeClock = pworld.app.ctx.clock
    assert sweep(pworld.ctx).elevations_ended == 0
    clock.advance(2 * 3600)
    with pytest.raises(Forbidden):  # gone at the window's end, even before the sweeper ran
        refund(pworld)
    assert sweep(pworld.ctx).elevations_ended == 1
    assert sweep(pworld.ctx).elevations_ended == 0
    [ended] = events(pworld, type_="agent.elevation_ended")
    assert ended["data"]["reason"] == "window ended"
    [listed] = list_elevations(pworld.ctx, pworld.agent_owner, pworld.agent.id)
    assert listed["active"] is False and listed["ended_at"] is not None


def test_bad_elevation_params_are_refused_before_proposing(pworld: PolicyWorld) -> None:
    bad = [{"duration": "25h"}, {"duration": "0s"}, {"duration": "soon"}, {"reason": " "},
           {"workflows": []}, {"workflows": ["*"]}, {"kinds": ["signoff.*"]},
           {"workflows": ["no-such-workflow"]}, {"extra": 1}]
    for params in bad:
        with pytest.raises(InvalidRequest):
            elevate(pworld, **params)
    assert events(pworld, type_="action.submitted") == []
    assert elevate(pworld, duration=3600).status.value == "pending"  # type: ignore[attr-defined]


def test_elevation_can_only_be_asked_in_the_agents_own_workflows(pworld: PolicyWorld) -> None:
    with pytest.raises(Forbidden):
        propose(pworld, ELEVATE, workflow="refunds", params=WANT)


def test_elevation_survives_a_restart_and_ends_after_it(pworld: PolicyWorld, db_url: str,
                                                        tmp_path: Path) -> None:
    granted(pworld)
    assert pworld.policy_file is not None
    clock = FakeClock(pworld.app.ctx.clock.now())
    again, _ = build_policy_app(tmp_path / "data", db_url, clock, pworld.policy_file, None)
    try:
        ctx = again.ctx
        req = request("payments.refund", workflow="refunds", params={"amount": 5})
        assert submit_action(ctx, pworld.agent, req)[0].status.value == "pending"
        clock.advance(2 * 3600 + 1)
        with pytest.raises(Forbidden):
            submit_action(ctx, pworld.agent, req)
        assert sweep(ctx).elevations_ended == 1
    finally:
        again.close()


def test_owner_revokes_an_elevation_early(pworld: PolicyWorld) -> None:
    granted(pworld)
    [elev] = list_elevations(pworld.ctx, pworld.agent, pworld.agent.id)
    with pytest.raises(Forbidden):
        revoke_elevation(pworld.ctx, pworld.rita, pworld.agent.id, elev["id"])
    out = revoke_elevation(pworld.ctx, pworld.agent_owner, pworld.agent.id, elev["id"],
                           reason="done early")
    assert out["active"] is False and out["revoked_by"]
    with pytest.raises(Forbidden):
        refund(pworld)
    with pytest.raises(Conflict):
        revoke_elevation(pworld.ctx, ADMIN, pworld.agent.id, elev["id"])
    assert [e["data"]["reason"] for e in events(pworld, type_="agent.elevation_ended")] == \
        ["revoked"]
    assert sweep(pworld.ctx).elevations_ended == 0


def test_elevations_endpoint(pworld: PolicyWorld) -> None:
    granted(pworld)
    _, token = identities.create_user_token(pworld.ctx, ADMIN, pworld.owner.id, name="t")
    with TestClient(create_app(pworld.app, sweeper=False)) as client:
        r = client.get(f"/v1/agents/{pworld.agent.id}/elevations",
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        [item] = r.json()["items"]
        assert item["active"] is True and item["kinds"] == ["payments.refund"]
        r = client.post("/v1/actions", headers={"Authorization": f"Bearer {pworld.agent_token}"},
                        json={"workflow": "prod-deploys", "kind": ELEVATE, "target": "agent/x",
                              "params": {**WANT, "duration": "48h"}, "summary": "more"})
        assert r.status_code == 422, r.text


def test_the_console_shows_active_elevations(pworld: PolicyWorld) -> None:
    import re

    granted(pworld)
    password = "a long enough password"
    identities.update_user(pworld.ctx, ADMIN, pworld.admin.id, password=password)  # type: ignore[union-attr]
    with TestClient(create_app(pworld.app, sweeper=False), base_url="https://testserver") as c:
        login = c.get("/console/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        c.post("/console/login", data={"csrf": csrf, "email": "adam@example.com",
                                       "password": password, "next": "/console/inbox"})
        page = c.get("/console/admin/agents").text
    assert "elevated" in page and "until" in page and "refunds" in page


def test_an_elevation_is_asked_for_the_agent_itself(pworld: PolicyWorld) -> None:
    for target in ("agent/agt_someone_else", "svc/api", ""):
        with pytest.raises(InvalidRequest) as info:
            propose(pworld, ELEVATE, target=target, params=WANT)
        assert info.value.extra["field"] == "target"
    by_name = propose(pworld, ELEVATE, target=f"agent/{pworld.agent.name}", params=WANT)
    assert by_name.status.value == "pending"


def test_work_that_relied_on_an_elevation_does_not_outlive_it(pworld: PolicyWorld) -> None:
    granted(pworld)
    [elev] = list_elevations(pworld.ctx, pworld.agent, pworld.agent.id)
    waiting = refund(pworld)
    approved = refund(pworld)
    own = propose(pworld, "deploy.release")          # in the agent's own scopes
    clock: FakeClock = pworld.app.ctx.clock
    clock.advance(2 * 3600 - 120)
    assert approve(pworld, approved.id, pworld.owner)["status"] == "approved"  # type: ignore[attr-defined]
    token = get_action(pworld.ctx, pworld.agent, approved.id)["grant"]["token"]  # type: ignore[attr-defined]
    clock.advance(61)  # the window is over, the grant (5 min) is not
    with pytest.raises(GrantRefused, match="outside the agent's scopes"):
        redeem_grant(pworld.ctx, pworld.agent, token=token, digest=approved.digest)  # type: ignore[attr-defined]
    assert sweep(pworld.ctx).elevations_ended == 1
    status = {a.id: get_action(pworld.ctx, pworld.owner, a.id)["status"]  # type: ignore[attr-defined]
              for a in (waiting, approved, own)}
    assert status == {waiting.id: "cancelled", approved.id: "cancelled", own.id: "pending"}  # type: ignore[attr-defined]
    [ended] = events(pworld, type_="agent.elevation_ended")
    assert ended["data"]["elevation_id"] == elev["id"]
    assert ended["data"]["actions_cancelled"] == [waiting.id]  # type: ignore[attr-defined]
    assert ended["data"]["grants_revoked"] == [approved.id]  # type: ignore[attr-defined]
    cancelled = events(pworld, action_id=waiting.id, type_="action.cancelled")  # type: ignore[attr-defined]
    assert cancelled[0]["actor"] == "system:signoff"
    assert "elevation" in cancelled[0]["data"]["reason"]


def test_the_kill_switch_ends_elevations_for_good(pworld: PolicyWorld) -> None:
    granted(pworld)
    suspend_agent(pworld.ctx, pworld.agent_owner, pworld.agent.id, reason="odd behaviour")
    [revoked] = events(pworld, type_="agent.elevation_revoked")
    assert "suspended" in revoked["data"]["reason"]
    [suspended] = events(pworld, type_="agent.suspended")
    assert suspended["data"]["elevations_ended"] == 1
    resume_agent(pworld.ctx, pworld.agent_owner, pworld.agent.id)
    with pytest.raises(Forbidden):  # resuming does not bring the extra scope back
        refund(pworld)
    [listed] = list_elevations(pworld.ctx, pworld.agent_owner, pworld.agent.id)
    assert listed["active"] is False and listed["revoked_by"]
