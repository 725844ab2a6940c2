"""Bad input anywhere in the console gets a clear 4xx page, never a 500; every POST needs the
session's CSRF token and changes nothing without it; signing out ends the session on the
server, not only in the browser."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import signoff.web
from signoff.services import identities
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import PASSWORD, audit_head, csrf_of, propose, sign_in

ODD_GETS = [
    "/console/inbox?limit=abc", "/console/inbox?limit=0", "/console/inbox?limit=" + "9" * 30,
    "/console/inbox?tier=" + "x" * 300, "/console/inbox?workflow=%00", "/console/inbox?agent=%ff",
    "/console/actions/act%00x", "/console/audit?q=%00", "/console/audit?action=a%00",
    "/console/inbox/poll?limit=-1", "/console/actions/nope", "/console/actions/" + "a" * 5000,
    "/console/actions/act_x/audit", "/console/audit?before=abc", "/console/audit?before=-5",
    "/console/audit?before=" + "9" * 30, "/console/audit?q=%25%5F", "/console/audit?q=" + "x" * 600,
    "/console/agents/nope/suspend", "/console/admin/nope", "/console/post-review?done=%00",
    "/console/actions/act_x?done=" + "x" * 500, "/console/nope", "/console/static/nope.js",
    "/console/notifications?done=" + "x" * 300, "/console/dashboard?days=-1",
]


@pytest.mark.parametrize("path", ODD_GETS)
def test_odd_requests_get_a_4xx_page(client: TestClient, world: World, path: str) -> None:
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin", "auditor", "owner"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    r = client.get(path, follow_redirects=False)
    assert r.status_code < 500, (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html"), (path, r.headers)
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert 'role="alert"' in r.text     # a page that says what was wrong


def test_wrong_methods_and_broken_forms_get_a_4xx_page(client: TestClient,
                                                       world: World) -> None:
    sign_in(client, "rita@example.com")
    token = csrf_of(client.get("/console/inbox").text)
    for method, path in [("PUT", "/console/inbox"), ("DELETE", "/console/actions/x"),
                         ("GET", "/console/logout"), ("GET", "/console/actions/x/decide")]:
        r = client.request(method, path, follow_redirects=False)
        assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    for body, kind in [(b"--x\r\nbroken", "multipart/form-data; boundary=x"),
                       (b"\xff\xfe=%ff&csrf=" + token.encode(),
                        "application/x-www-form-urlencoded"),
                       (b"{}", "application/json")]:
        r = client.post("/console/actions/x/decide", content=body,
                        headers={"content-type": kind}, follow_redirects=False)
        assert 400 <= r.status_code < 500, (kind, r.status_code, r.text[:200])
    action_id = propose(world)
    r = client.post(f"/console/actions/{action_id}/decide",
                    data={"csrf": token, "verdict": "reject", "rationale": "bad\x00 byte"})
    assert r.status_code == 422 and "NUL" in r.text       # PostgreSQL would have failed
    login = client.get("/console/login")
    r = client.post("/console/login", data={"csrf": csrf_of(login.text), "email": "a\x00@b.c",
                                            "password": "x"})
    assert r.status_code == 422
    for section, op in [("nope", "create"), ("workflows", "nope"), ("x" * 300, "y" * 300)]:
        r = client.post(f"/console/admin/{section}/{op}", data={"csrf": token})
        assert r.status_code == 404 and "Traceback" not in r.text
    huge = client.post("/console/admin/users/create",
                       data={"csrf": token, "email": "x" * 100_000, "name": "y" * 100_000})
    assert 400 <= huge.status_code < 500


def _post_routes() -> list[str]:
    """Every POST route of every console view module (found, not listed: a new one is in)."""
    paths = set()
    for info in pkgutil.iter_modules(signoff.web.__path__):
        router = getattr(importlib.import_module(f"signoff.web.{info.name}"), "router", None)
        for r in getattr(router, "routes", []):
            if isinstance(r, APIRoute) and "POST" in r.methods:
                paths.add(r.path)
    return sorted(paths)


def test_every_console_post_refuses_a_missing_or_wrong_csrf_token(client: TestClient,
                                                                 world: World) -> None:
    action_id = propose(world)
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    routes = _post_routes()
    assert len(routes) >= 9, routes        # login, logout, decide, cancel, post-review, ...
    values = {"action_id": action_id, "agent_id": world.agent.id, "section": "users",
              "op": "create"}
    before = audit_head(world)
    for route in routes:
        if route == "/console/login":
            continue                         # its own token lives in a cookie: tested below
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route)
        for bad in ({}, {"csrf": ""}, {"csrf": "x" * 43}):
            r = client.post(path, follow_redirects=False,
                            data={"verdict": "reject", "rationale": "looked at it closely",
                                  "confirm": "yes", "reason": "test", "email": "n@example.com",
                                  "name": "N", "all": "yes", **bad})
            assert r.status_code == 403, (path, bad, r.status_code)
    assert audit_head(world) == before     # nothing changed, not even a sign-out
    assert client.get("/console/inbox", follow_redirects=False).status_code == 200
    r = client.post("/console/login", data={"csrf": "forged", "email": "ada@example.com",
                                            "password": PASSWORD})
    assert r.status_code == 403


def test_every_form_on_every_page_carries_the_csrf_token(client: TestClient,
                                                          world: World) -> None:
    action_id = propose(world)
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin", "auditor", "owner", "reviewer"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    token = csrf_of(client.get("/console/inbox").text)
    pages = ["/console/inbox", f"/console/actions/{action_id}", "/console/post-review",
             "/console/dashboard", "/console/admin/workflows", "/console/admin/agents",
             "/console/admin/users", "/console/audit", "/console/notifications",
             f"/console/agents/{world.agent.id}/suspend"]
    forms = 0
    for page in pages:
        html = client.get(page).text
        for form in re.findall(r'<form method="post".*?</form>', html, re.S):
            forms += 1
            assert f'name="csrf" value="{token}"' in form, (page, form[:200])
    assert forms >= 20


def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    sign_in(client, "rita@example.com")
    stolen = client.cookies.get("__Host-signoff_session")
    assert stolen
    r = client.post("/console/logout", data={"csrf": csrf_of(client.get("/console/inbox").text)},
                    follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    client.cookies.set("__Host-signoff_session", stolen)    # a copy kept from before
    r = client.get("/console/inbox", follow_redirects=False)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_a_password_reset_ends_the_users_sessions(client: TestClient, world: World) -> None:
    sign_in(client, "rita@example.com")
    rita_cookie = client.cookies.get("__Host-signoff_session")
    client.cookies.clear()                      # rita's browser keeps it; ada uses another
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    r = client.post("/console/admin/users/password",
                    data={"csrf": csrf_of(client.get("/console/admin/users").text),
                          "user_id": world.rita.id, "password": "a brand new password"})
    assert "1 console session(s) of rita@example.com ended" in r.text
    client.cookies.clear()
    client.cookies.set("__Host-signoff_session", rita_cookie)
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303
    assert sign_in(client, "rita@example.com", "a brand new password").status_code == 303


def test_signing_in_again_ends_the_session_the_browser_held(client: TestClient) -> None:
    sign_in(client, "rita@example.com")
    ritas = client.cookies.get("__Host-signoff_session")
    sign_in(client, "sid@example.com")           # the next person at the same browser
    assert 'sid@example.com' in client.get("/console/inbox").text
    client.cookies.clear()
    client.cookies.set("__Host-signoff_session", ritas)
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303
