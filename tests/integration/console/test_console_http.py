"""The console over HTTP (in-process ASGI, SQLite and PostgreSQL): sessions, CSRF, headers,
the same rules as the API, and the read models behind the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from signoff.services import identities
from signoff.services.console import RubberStamp, reviewer_stats
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import PASSWORD, csrf_of, propose, sign_in


def test_pages_need_a_session_and_send_security_headers(client: TestClient) -> None:
    r = client.get("/console/inbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    page = client.get("/console/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert client.get("/healthz").headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text.replace('<script src="/console/static/console.js" '
                                               'defer></script>', "")
    assert " style=" not in page.text


def test_sign_in_sets_a_strict_secure_cookie(client: TestClient) -> None:
    r = sign_in(client, "rita@example.com")
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-signoff_session=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag in cookie
    assert client.get("/console/inbox").status_code == 200


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/console/login")
    r = client.post("/console/login", data={"csrf": "forged", "email": "rita@example.com",
                                            "password": PASSWORD})
    assert r.status_code == 403 and "expired" in r.text


def test_lockout_over_http(client: TestClient, world: World) -> None:
    for _ in range(world.app.settings.login_max_failures):
        assert sign_in(client, "rita@example.com", "wrong").status_code == 401
    r = sign_in(client, "rita@example.com")
    assert r.status_code == 401 and "locked" in r.text


def test_every_post_checks_the_session_csrf_token(client: TestClient, world: World,
                                                  clock: FakeClock) -> None:
    action_id = propose(world)
    sign_in(client, "rita@example.com")
    page = client.get(f"/console/actions/{action_id}")
    clock.advance(20)
    for bad in ({}, {"csrf": ""}, {"csrf": "x" * 43}):
        r = client.post(f"/console/actions/{action_id}/decide",
                        data={"verdict": "approve", "rationale": "reviewed it carefully",
                              **bad})
        assert r.status_code == 403
    assert client.get(f"/console/actions/{action_id}").text.count("Approve") >= 1
    r = client.post(f"/console/actions/{action_id}/decide", follow_redirects=False,
                    data={"verdict": "approve", "rationale": "reviewed it carefully",
                          "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert "grant was issued" in client.get(r.headers["location"]).text


def test_too_early_decision_shows_the_servers_seconds_left(client: TestClient,
                                                           world: World) -> None:
    action_id = propose(world)
    sign_in(client, "rita@example.com")
    page = client.get(f"/console/actions/{action_id}")
    assert 'data-seconds-left="15"' in page.text
    r = client.post(f"/console/actions/{action_id}/decide",
                    data={"verdict": "approve", "rationale": "reviewed it carefully",
                          "csrf": csrf_of(page.text)})
    assert r.status_code == 422 and "15 seconds left" in r.text


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, "rita@example.com")
    page = client.get("/console/inbox")
    r = client.post("/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_inbox_is_the_api_inbox_with_counters(client: TestClient, world: World) -> None:
    ids = [propose(world, target=f"prod/svc-{i}") for i in range(3)]
    critical = propose(world, kind="secrets.read", target="vault/x")
    sign_in(client, "rita@example.com")
    r = client.get("/console/inbox")
    found = re.findall(r'href="/console/actions/(act_[0-9a-f]+)"', r.text)
    assert found[0] == critical and set(found) == {*ids, critical}
    assert 'id="count-pending">4<' in r.text
    r = client.get("/console/inbox?tier=critical")
    assert re.findall(r'href="/console/actions/(act_[0-9a-f]+)"', r.text) == [critical]
    poll = client.get("/console/inbox/poll").json()
    assert poll["counts"]["pending"] == 4
    sign_in(client, "audrey@example.com")       # an auditor is in no approver pool
    assert 'id="count-pending">0<' in client.get("/console/inbox").text


def test_action_page_flags_hidden_text_and_mismatches(client: TestClient,
                                                      world: World) -> None:
    action_id = propose(world, summary="Refund €120 to bob@example.com <script>x()</script>",
                        params={"amount": 12000, "to": "eve@example.com",
                                "memo": "ok\u202efdp.exe"})
    sign_in(client, "rita@example.com")
    html = client.get(f"/console/actions/{action_id}").text
    assert 'id="hidden-warning"' in html and "params.memo" in html
    assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in html and "\u202e" not in html
    assert 'id="mismatch-warning"' in html and "bob@example.com" in html
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html


def test_roles_guard_the_pages(client: TestClient, world: World) -> None:
    sign_in(client, "rita@example.com")
    for path in ("/console/dashboard", "/console/audit", "/console/admin/users"):
        r = client.get(path)
        assert r.status_code == 403 and "<html" in r.text
    sign_in(client, "audrey@example.com")
    assert client.get("/console/audit?type=auth.").status_code == 200
    assert "auth.signin" in client.get("/console/audit?type=auth.").text
    sign_in(client, "olivia@example.com")
    assert client.get("/console/dashboard").status_code == 200


def test_suspend_needs_the_confirmation_step(client: TestClient, world: World) -> None:
    action_id = propose(world)
    identities.update_user(world.ctx, ADMIN, world.agent_owner.id, password=PASSWORD)
    sign_in(client, "ash@example.com")
    page = client.get(f"/console/agents/{world.agent.id}/suspend")
    assert "1</strong> pending" in page.text
    r = client.post(f"/console/agents/{world.agent.id}/suspend", follow_redirects=False,
                    data={"csrf": csrf_of(page.text), "reason": "oops"})
    assert r.status_code == 303          # no confirm=yes: back to the confirmation page
    r = client.post(f"/console/agents/{world.agent.id}/suspend",
                    data={"csrf": csrf_of(page.text), "reason": "oops", "confirm": "yes"})
    assert "1 pending action(s) cancelled" in r.text
    with world.ctx.uow(readonly=True) as uow:
        assert uow.actions.get(action_id).status.value == "cancelled"


def test_admin_pages_manage_workflows_agents_and_users(client: TestClient,
                                                       world: World) -> None:
    identities.create_user(world.ctx, ADMIN, email="ada@example.com", name="Ada",
                           roles=["admin"], password=PASSWORD)
    sign_in(client, "ada@example.com")
    page = client.get("/console/admin/users")
    r = client.post("/console/admin/users/create",
                    data={"csrf": csrf_of(page.text), "email": "new@example.com", "name": "New",
                          "role_reviewer": "on", "password": "another long password"})
    assert r.status_code == 200 and "User created." in r.text and "new@example.com" in r.text
    r = client.post("/console/admin/workflows/create",
                    data={"csrf": csrf_of(page.text), "name": "refunds",
                          "owner": "olivia@example.com", "backups": "new@example.com",
                          "groups": "release-reviewers"})
    assert "Workflow created." in r.text and "refunds" in r.text
    r = client.post("/console/admin/agents/create",
                    data={"csrf": csrf_of(page.text), "name": "refund-bot",
                          "owner": "olivia@example.com", "workflows": "refunds",
                          "kinds": "payments.*"})
    token = re.search(r"<code>(so_agent_[^<]+)</code>", r.text)
    assert token and "shown once" in r.text
    assert token.group(1) not in client.get("/console/admin/agents").text
    r = client.post("/console/admin/workflows/create",
                    data={"csrf": csrf_of(page.text), "name": "refunds",
                          "owner": "olivia@example.com"})
    assert r.status_code == 409 and "exists" in r.text
    sign_in(client, "rita@example.com")
    r = client.post("/console/admin/users/create",
                    data={"csrf": csrf_of(client.get("/console/inbox").text),
                          "email": "x@example.com", "name": "X", "role_admin": "on"})
    assert r.status_code == 403


def _decision(reviewer: str, workflow: str, verdict: str, dwell: float,
              at: datetime) -> dict[str, Any]:
    return {"reviewer_id": reviewer, "workflow": workflow, "verdict": verdict,
            "first_viewed_at": at - timedelta(seconds=dwell), "decided_at": at}


def test_rubber_stamp_warning() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [_decision("fast", "wf", "approve", 2, t0 + timedelta(minutes=i)) for i in range(12)]
    rows += [_decision(f"slow{i}", "wf", "approve" if i % 3 else "reject", 120,
                       t0 + timedelta(minutes=i)) for i in range(30)]
    stats = {s["reviewer_id"]: s for s in reviewer_stats(rows, RubberStamp())}
    assert stats["fast"]["rubber_stamp"] and stats["fast"]["approval_rate"] == 1.0
    assert stats["fast"]["median_seconds"] == 2 and stats["fast"]["decisions"] == 12
    assert not any(s["rubber_stamp"] for k, s in stats.items() if k != "fast")
    assert not reviewer_stats(rows[:9], RubberStamp())[0]["rubber_stamp"]   # too few
    one_reject = rows[:11] + [_decision("fast", "wf", "reject", 2, t0)] + rows[12:]
    strict = RubberStamp(approval_rate=0.99)
    assert not {s["reviewer_id"]: s for s in reviewer_stats(one_reject, strict)}[
        "fast"]["rubber_stamp"]
