"""The HTTP API of a real server process: lifecycle, problem+json on every bad input."""

from __future__ import annotations

import os
import stat
import time

import httpx
import pytest

from tests.conftest import cli
from tests.e2e.conftest import Workspace, propose

pytestmark = pytest.mark.e2e


def test_init_is_safe_to_rerun_and_keys_are_private(tmp_path) -> None:
    env = {"SIGNOFF_DATA_DIR": str(tmp_path / "d")}
    first = cli("init", env=env).stdout
    token_lines = [line for line in first.splitlines() if line.startswith("so_user_")]
    assert len(token_lines) == 1
    [key] = list((tmp_path / "d" / "keys").glob("*.pem"))
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    before = key.read_bytes(), (tmp_path / "d" / "signoff.db").stat().st_size
    second = cli("init", env=env).stdout
    assert "so_user_" not in second and "kept the existing key" in second
    assert key.read_bytes() == before[0]


def test_cli_errors_are_one_line(tmp_path) -> None:
    result = cli("serve", env={"SIGNOFF_DATA_DIR": str(tmp_path / "none")}, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "signoff: error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_approval_flow_over_http(live: Workspace) -> None:
    agent, rita = live.client("agent"), live.client("rita")
    action = propose(agent)
    assert action["status"] == "pending" and action["grant"] is None
    too_soon = rita.post(f"/v1/actions/{action['id']}/reviews",
                         json={"verdict": "approve", "rationale": "looks right to me"})
    assert too_soon.status_code == 422
    assert too_soon.headers["content-type"] == "application/problem+json"
    assert too_soon.json()["code"] == "review_too_soon" and too_soon.json()["seconds_left"] == 15
    assert agent.post(f"/v1/actions/{action['id']}/reviews",
                      json={"verdict": "approve", "rationale": "x" * 20}).status_code == 403
    detail = rita.get(f"/v1/actions/{action['id']}").json()
    assert detail["grant"] is None and detail["quorum"]["short_by"] == 1
    assert rita.get("/v1/inbox").json()["count"] == 1


def test_wait_answers_fast_after_cancel(live: Workspace) -> None:
    agent = live.client("agent")
    action = propose(agent)
    import threading
    answer: dict = {}

    def waiter() -> None:
        t0 = time.monotonic()
        answer["body"] = agent.get(f"/v1/actions/{action['id']}/wait",
                                   params={"timeout": 20}).json()
        answer["at"] = time.monotonic()
        answer["t0"] = t0

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    assert live.client("olivia").post(f"/v1/actions/{action['id']}/cancel",
                                      json={"reason": "not today"}).status_code == 200
    decided = time.monotonic()  # the decision is committed once its request has answered
    thread.join(10)
    assert answer["body"]["status"] == "cancelled"
    assert answer["at"] - decided < 0.1  # the waiter answers within 100 ms of the decision


def test_allowed_action_redeems_once_and_reports_outcome(live: Workspace) -> None:
    agent = live.client("agent")
    action = propose(agent, "draft.reply", idempotency_key="once")
    again = agent.post("/v1/actions", json={"workflow": "prod-deploys", "kind": "draft.reply",
                                            "target": "svc/api", "params": {"version": "1.0"},
                                            "idempotency_key": "once"})
    assert again.status_code == 200 and again.json()["id"] == action["id"]
    token = agent.get(f"/v1/actions/{action['id']}").json()["grant"]["token"]
    jwks = httpx.get(live.url + "/.well-known/jwks.json").json()
    assert jwks["keys"][0]["crv"] == "Ed25519" and jwks["keys"][0]["kid"]
    body = {"grant": token, "digest": action["digest"]}
    assert agent.post("/v1/grants/redeem", json=body).status_code == 200
    assert agent.post("/v1/grants/redeem", json=body).status_code == 409
    done = agent.post(f"/v1/actions/{action['id']}/outcome",
                      json={"status": "succeeded", "detail": "drafted"})
    assert done.status_code == 200 and done.json()["status"] == "succeeded"


def test_policy_check_answers_without_proposing(live: Workspace) -> None:
    agent = live.client("agent")
    before = live.client("audrey").get("/v1/actions").json()["items"]
    ok = agent.post("/v1/policy/check", json={"workflow": "prod-deploys", "kind": "draft.reply",
                                              "target": "t", "params": {}})
    assert ok.status_code == 200 and ok.json()["mode"] == "allow", ok.text
    held = agent.post("/v1/policy/check", json={"workflow": "prod-deploys",
                                                "kind": "deploy.release", "params": {}}).json()
    assert held["mode"] == "require_approval" and held["policy_version"]
    out = agent.post("/v1/policy/check", json={"workflow": "prod-deploys",
                                               "kind": "payments.send", "params": {}}).json()
    assert out["mode"] == "deny" and out["reasons"][0]["rule_id"] == "agent.scope"
    assert live.client("audrey").get("/v1/actions").json()["items"] == before
    human = live.client("olivia").post("/v1/policy/check", json={
        "workflow": "prod-deploys", "kind": "draft.reply", "params": {}})
    assert human.status_code == 403
    bad = agent.post("/v1/policy/check", json={"workflow": "prod-deploys"})
    assert bad.status_code == 422


def test_outcome_with_prefer_return_minimal(live: Workspace) -> None:
    agent = live.client("agent")
    action = agent.post("/v1/actions", json={"workflow": "prod-deploys", "kind": "draft.reply",
                                             "target": "t", "params": {}, "redeem": True}).json()
    assert action["status"] == "executing", action
    done = agent.post(f"/v1/actions/{action['id']}/outcome", headers={
        "Prefer": "return=minimal"}, json={"status": "failed", "detail": "boom"})
    assert done.status_code == 200 and done.headers["preference-applied"] == "return=minimal"
    assert done.json() == {"id": action["id"], "status": "failed"}
    record = agent.get(f"/v1/actions/{action['id']}").json()
    assert record["status"] == "failed" and record["outcome"]["detail"] == "boom"
    again = agent.post(f"/v1/actions/{action['id']}/outcome", headers={
        "Prefer": "return=minimal"}, json={"status": "succeeded", "detail": "again"})
    assert again.status_code == 409  # one outcome per action, minimal or not


BAD = [
    ("post", "/v1/actions", {"content": b"{not json"}, 422, "malformed_json"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys"}}, 422, "invalid_request"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys", "kind": "deploy.x",
                                      "params": "nope"}}, 422, "invalid_request"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys", "kind": "deploy.x",
                                      "params": {"a": "x" * 70_000}}}, 413, "payload_too_large"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys", "kind": "payments.send",
                                      "params": {}}}, 403, "forbidden"),
    ("post", "/v1/actions", {"json": {"workflow": "nope", "kind": "deploy.x",
                                      "params": {}}}, 403, "forbidden"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys", "kind": "deploy.x",
                                      "params": {}, "surprise": 1}}, 422, "invalid_request"),
    ("post", "/v1/actions", {"json": {"workflow": "prod-deploys", "kind": "deploy.x",
                                      "params": {}}, "headers": {"Idempotency-Key": "k" * 201}},
     422, "invalid_request"),
    ("post", "/v1/actions", {"content": b"[1, 2]"}, 422, "invalid_request"),
    ("get", "/v1/actions/act_nope", {}, 404, "not_found"),
    ("post", "/v1/actions/act_nope/reviews", {"json": {"verdict": "approve"}}, 403, "forbidden"),
    ("post", "/v1/grants/redeem", {"json": {"grant": "abc", "digest": "sha256:00"}}, 403,
     "grant_refused"),
    ("get", "/v1/actions/x/wait?timeout=abc", {}, 422, "invalid_request"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), BAD)
def test_bad_input_gets_a_problem_and_changes_nothing(live: Workspace, method, path, kwargs,
                                                      status, code) -> None:
    agent = live.client("agent")
    before = live.client("audrey").get("/v1/actions").json()["items"]
    if "content" in kwargs:
        kwargs = {**kwargs, "headers": {"content-type": "application/json"}}
    r = getattr(agent, method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code and r.json()["detail"]
    assert live.client("audrey").get("/v1/actions").json()["items"] == before


def test_deeply_nested_params_and_huge_bodies(live: Workspace) -> None:
    agent = live.client("agent")
    deep: dict = {}
    cur = deep
    for _ in range(40):
        cur["n"] = {}
        cur = cur["n"]
    r = agent.post("/v1/actions", json={"workflow": "prod-deploys", "kind": "deploy.x",
                                        "params": deep})
    assert r.status_code == 422 and r.json()["field"] == "params"
    r = agent.post("/v1/actions", content=b"x" * (9 * 1024 * 1024),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_tokens_401_and_revocation(live: Workspace) -> None:
    for header in ({}, {"Authorization": "Bearer nope"},
                   {"Authorization": "Bearer so_agent_forged"}):
        r = httpx.get(live.url + "/v1/actions", headers=header)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    admin = live.client("admin")
    created = admin.post(f"/v1/users/{live.ids['rita']}/tokens", json={"name": "t2"}).json()
    assert created["token"].startswith("so_user_")
    assert admin.delete(f"/v1/tokens/{created['id']}").status_code == 204
    r = httpx.get(live.url + "/v1/inbox",
                  headers={"Authorization": f"Bearer {created['token']}"})
    assert r.status_code == 401


def test_roles_are_enforced(live: Workspace) -> None:
    auditor, rita = live.client("audrey"), live.client("rita")
    assert auditor.post("/v1/users", json={"email": "z@example.com", "roles": []}
                        ).status_code == 403
    assert rita.post(f"/v1/agents/{live.ids['agent']}/suspend",
                     json={"reason": "x"}).status_code == 403
    assert auditor.get("/v1/audit").status_code == 200
    assert rita.get("/v1/audit").status_code == 403
    # The workflow owner may suspend its agents (kill switch): new proposals then get 403.
    olivia = live.client("olivia")
    assert olivia.post(f"/v1/agents/{live.ids['agent']}/suspend",
                       json={"reason": "incident"}).status_code == 200
    r = live.client("agent").post("/v1/actions", json={"workflow": "prod-deploys",
                                                       "kind": "draft.x", "params": {}})
    assert r.status_code == 403 and r.json()["code"] == "agent_suspended"


def test_openapi_and_metrics(live: Workspace) -> None:
    spec = httpx.get(live.url + "/openapi.json").json()
    assert "/v1/actions" in spec["paths"]
    # The proposal body is parsed by hand on the hot path; it must still be documented.
    post = spec["paths"]["/v1/actions"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"workflow", "kind", "params", "redeem"} <= set(body["properties"])
    assert body["properties"]["impact"]["$ref"].rsplit("/", 1)[1] in spec["components"]["schemas"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    text = httpx.get(live.url + "/metrics").text
    assert "signoff_http_requests_total" in text and "signoff_audit_seq" in text
