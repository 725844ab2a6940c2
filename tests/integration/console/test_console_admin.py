"""The administration pages change what the API would, on record: scopes, roles, freezing a
workflow, group members."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signoff.domain.actions import ActionRequest, Impact
from signoff.errors import Forbidden, WorkflowFrozen
from signoff.services import actions, identities
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import PASSWORD, csrf_of, sign_in


@pytest.fixture
def admin(client: TestClient, world: World) -> str:
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    return csrf_of(client.get("/console/admin/agents").text)


def _events(world: World, type_: str) -> list[dict]:
    with world.ctx.uow(readonly=True) as uow:
        return [e for e in uow.audit.events(limit=10_000) if e["type"] == type_]


def test_agent_scopes_are_changed_on_record(client: TestClient, world: World,
                                            admin: str) -> None:
    r = client.post("/console/admin/agents/scopes",
                    data={"csrf": admin, "agent_id": world.agent.id,
                          "workflows": "prod-deploys", "kinds": "draft.*"})
    assert "Scopes saved" in r.text and 'value="draft.*"' in r.text
    event = _events(world, "agent.scopes_changed")[-1]
    assert event["data"]["after"] == {"workflows": ["prod-deploys"], "kinds": ["draft.*"]}
    assert "deploy.*" in event["data"]["before"]["kinds"]
    with pytest.raises(Forbidden):   # deploys are out of its scope now
        actions.submit_action(world.ctx, world.agent, ActionRequest(
            workflow="prod-deploys", kind="deploy.release", target="prod/api", params={},
            impact=Impact()))
    r = client.post("/console/admin/agents/scopes",
                    data={"csrf": admin, "agent_id": "agt_nope", "workflows": "*",
                          "kinds": "*"})
    assert r.status_code == 404 and "no agent agt_nope" in r.text


def test_roles_and_freezing_from_the_admin_pages(client: TestClient, world: World,
                                                 admin: str) -> None:
    r = client.post("/console/admin/users/roles",
                    data={"csrf": admin, "user_id": world.rita.id, "role_reviewer": "on",
                          "role_auditor": "on"})
    assert "Roles saved" in r.text
    with world.ctx.uow(readonly=True) as uow:
        assert sorted(uow.humans.get(world.rita.id).roles) == ["auditor", "reviewer"]
    r = client.post("/console/admin/workflows/freeze",
                    data={"csrf": admin, "name": "prod-deploys", "reason": "incident 42"})
    assert "Workflow frozen" in r.text and "incident 42" in r.text
    with pytest.raises(WorkflowFrozen):
        actions.submit_action(world.ctx, world.agent, ActionRequest(
            workflow="prod-deploys", kind="draft.note", target="wiki", params={},
            impact=Impact()))
    r = client.post("/console/admin/workflows/freeze",
                    data={"csrf": admin, "name": "prod-deploys", "reason": " "})
    assert r.status_code == 422
    r = client.post("/console/admin/workflows/unfreeze",
                    data={"csrf": admin, "name": "prod-deploys"})
    assert "Workflow unfrozen" in r.text
    assert [e["type"] for e in _events(world, "workflow.frozen")] == ["workflow.frozen"]


def test_group_members_from_the_admin_pages(client: TestClient, world: World,
                                            admin: str) -> None:
    r = client.post("/console/admin/workflows/group-members",
                    data={"csrf": admin, "name": "release-reviewers",
                          "members": "sid@example.com"})
    assert "Group members saved" in r.text
    with world.ctx.uow(readonly=True) as uow:
        assert uow.groups.get("release-reviewers").members == [world.sid.id]
    r = client.post("/console/admin/workflows/group-create",
                    data={"csrf": admin, "name": "finance", "members": "nobody@example.com"})
    assert r.status_code == 422 and "no user nobody@example.com" in r.text


def test_admin_operations_need_the_admin_role(client: TestClient, world: World) -> None:
    sign_in(client, "olivia@example.com")       # an owner, not an admin
    token = csrf_of(client.get("/console/inbox").text)
    for op, data in [("agents/scopes", {"agent_id": world.agent.id, "workflows": "*",
                                        "kinds": "*"}),
                     ("users/roles", {"user_id": world.owner.id, "role_admin": "on"}),
                     ("users/password", {"user_id": world.rita.id, "password": "pwned pwned"})]:
        r = client.post(f"/console/admin/{op}", data={"csrf": token, **data})
        assert r.status_code == 403, op
    with world.ctx.uow(readonly=True) as uow:
        assert "admin" not in uow.humans.get(world.owner.id).roles
