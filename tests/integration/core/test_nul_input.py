"""A NUL character (U+0000) anywhere in API input is a 422 that changes nothing, on both
databases (PostgreSQL cannot store one; it used to be a 500 there and stored on SQLite)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.api.nul_guard import holds_nul

BASE = {"workflow": "prod-deploys", "kind": "draft.note", "target": "doc/1",
        "params": {"text": "hello"}, "summary": "Draft a note"}


@pytest.fixture
def api(world: Any) -> TestClient:
    return TestClient(create_app(world.app, sweeper=False), raise_server_exceptions=False)


def _head(api: TestClient, world: Any) -> int:
    with world.ctx.uow(readonly=True) as uow:
        return uow.audit.head()[0]


@pytest.mark.parametrize("body", [
    {**BASE, "summary": "a\u0000b"},
    {**BASE, "target": "doc/\u0000"},
    {**BASE, "workflow": "prod-\u0000"},
    {**BASE, "params": {"text": "x\u0000"}},
    {**BASE, "params": {"k\u0000": 1}},
    {**BASE, "params": {"deep": [{"x": ["\u0000"]}]}},
    {**BASE, "inputs": [{"source": "s", "ref": "r", "excerpt": "e\u0000"}]},
    {**BASE, "on_behalf_of": "rita\u0000@example.com"},
], ids=["summary", "target", "workflow", "param value", "param key", "nested", "inputs",
        "on_behalf_of"])
def test_a_nul_in_a_proposal_is_refused_and_nothing_is_recorded(api, world, body) -> None:
    before = _head(api, world)
    response = api.post("/v1/actions", json=body,
                        headers={"Authorization": f"Bearer {world.agent_token}"})
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
    assert _head(api, world) == before


def test_a_literal_backslash_u0000_is_text_not_a_nul(api, world) -> None:
    body = {**BASE, "summary": "the escape \\u0000 in a C string"}
    response = api.post("/v1/actions", json=body,
                        headers={"Authorization": f"Bearer {world.agent_token}"})
    assert response.status_code == 201, response.text
    assert response.json()["summary"] == "the escape \\u0000 in a C string"


@pytest.mark.parametrize("path", ["/v1/actions?workflow=%00", "/v1/actions?before=a%00",
                                  "/v1/actions/act%00x", "/v1/inbox?tier=%00"])
def test_a_nul_in_the_address_is_refused(api, world, path) -> None:
    response = api.get(path, headers={"Authorization": f"Bearer {world.agent_token}"})
    assert response.status_code == 422, response.text


def test_a_nul_in_a_management_body_is_refused(api, world) -> None:
    # Refused before anything else, authentication included: the body is never parsed.
    response = api.post("/v1/users", json={"email": "n@example.com", "name": "N\u0000",
                                           "roles": ["reviewer"]})
    assert response.status_code == 422, response.text
    with world.ctx.uow(readonly=True) as uow:
        assert uow.humans.by_email("n@example.com") is None


def test_holds_nul_walks_keys_values_and_lists() -> None:
    assert holds_nul({"a": [1, {"b": "x\x00"}]})
    assert holds_nul({"k\x00": 1})
    assert not holds_nul({"a": [1, 2.5, None, True, {"b": "\\u0000"}]})
