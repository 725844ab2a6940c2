"""The policy engine wired into the server: decisions, reloads, shadow mode (SQLite and PG)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from signoff.adapters.policy import default_policy_path, load_policy
from signoff.api.app import create_app
from signoff.bootstrap import build
from signoff.config import load_settings
from signoff.domain.identities import Principal, PrincipalKind
from signoff.errors import Forbidden
from signoff.services import identities
from signoff.services.actions import submit_action
from signoff.services.policy_admin import describe_policy, reload_policy, shadow_report
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World, cli, human, make_world, prepare
from tests.integration.policy.conftest import SHADOW, PolicyWorld, events, propose, request


def test_decisions_record_the_policy_version_and_matched_rules(pworld: PolicyWorld) -> None:
    action = propose(pworld, "deploy.release", target="svc/payments-api")
    assert action.status.value == "pending" and action.tier == "high"
    assert pworld.holder is not None
    assert action.policy_version == pworld.holder.version
    assert action.policy_version.startswith("sha256:")
    submitted = events(pworld, action_id=action.id, type_="action.submitted")[0]["data"]
    assert "production-release" in submitted["matched_rules"]
    assert submitted["policy_version"] == pworld.holder.version


def test_describe_shows_active_and_shadow_rule_ids(pworld: PolicyWorld) -> None:
    info = describe_policy(pworld.ctx)
    assert info["active"]["path"] == str(pworld.policy_file)
    assert "agent-elevation" in info["active"]["rule_ids"]
    assert info["shadow"]["rule_ids"] == ["drafts-need-approval", "deploys-reviewed-after",
                                          "notes-low"]


def test_reload_keeps_the_last_good_policy_and_is_audited(pworld: PolicyWorld) -> None:
    assert pworld.policy_file is not None and pworld.admin is not None
    before = describe_policy(pworld.ctx)["active"]["version"]
    with pytest.raises(Forbidden):
        reload_policy(pworld.ctx, pworld.rita)
    text = pworld.policy_file.read_text()
    pworld.policy_file.write_text(text.replace("rules:\n", "rules:\n  - id: broken\n"
                                               "    when: action.kind ==\n    tier: low\n", 1))
    bad = reload_policy(pworld.ctx, pworld.admin)
    assert bad["ok"] is False and bad["version"] == before
    assert any("broken" in line for line in bad["errors"])
    # still deciding with the last good policy
    assert propose(pworld, "deploy.release").policy_version == before
    pworld.policy_file.write_text(text.replace("tier: high\n", "tier: critical\n", 1))
    good = reload_policy(pworld.ctx, pworld.admin)
    assert good["ok"] is True and good["changed"] is True and good["version"] != before
    assert propose(pworld, "deploy.release").policy_version == good["version"]
    failed = events(pworld, type_="policy.reload_failed")
    assert len(failed) == 1 and failed[0]["data"]["errors"]
    reloaded = events(pworld, type_="policy.reloaded")
    assert [e["data"]["version"] for e in reloaded] == [good["version"]]
    assert reloaded[0]["data"]["previous_version"] == before


def test_without_signoff_policy_the_shipped_default_is_in_force_and_reloads(
        world: World) -> None:
    shipped = load_policy(default_policy_path())
    info = describe_policy(world.ctx)
    assert info["source"] == "shipped_default" and info["shadow"] is None
    assert info["active"]["path"] == str(default_policy_path())
    assert info["active"]["version"] == shipped.version
    assert info["active"]["rule_ids"] == list(shipped.rule_ids)
    with pytest.raises(Forbidden):
        reload_policy(world.ctx, world.rita)
    # a reload re-reads the shipped file: nothing changed, nothing broke, and it is on record
    result = reload_policy(world.ctx, ADMIN)
    assert result["ok"] is True and result["changed"] is False
    assert result["version"] == result["previous_version"] == shipped.version
    assert result["policy"]["source"] == "shipped_default"
    [reloaded] = events(world, type_="policy.reloaded")
    assert reloaded["data"]["source"] == "shipped_default"
    assert reloaded["data"]["version"] == shipped.version
    # it decides like any policy file, and an unclassified kind still waits for a human
    deploy = propose(world, "deploy.release")
    assert (deploy.tier, deploy.status.value) == ("high", "pending")
    assert deploy.policy_version == shipped.version
    agent, _ = identities.create_agent(world.ctx, ADMIN, name="odd-bot",
                                       owner_email="ash@example.com",
                                       scopes={"workflows": ["prod-deploys"], "kinds": ["*"]})
    odd, _ = submit_action(world.ctx, Principal(kind=PrincipalKind.AGENT, id=agent.id,
                                                name=agent.name), request("widgets.frobnicate"))
    assert (odd.tier, odd.status.value, odd.mode) == ("high", "pending", "require_approval")


def test_policy_api_on_the_shipped_default(world: World) -> None:
    shipped = load_policy(default_policy_path()).version
    _, token = identities.create_user_token(world.ctx, ADMIN, world.owner.id, name="t")
    admin = human(world.app, "adam@example.com", ["admin"])
    _, admin_token = identities.create_user_token(world.ctx, ADMIN, admin.id, name="t")
    with TestClient(create_app(world.app, sweeper=False)) as client:
        got = client.get("/v1/policy", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200 and got.json()["source"] == "shipped_default"
        assert got.json()["active"]["version"] == shipped
        r = client.post("/v1/policy/reload", headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True and r.json()["changed"] is False
        assert client.get("/healthz").json()["policy_version"] == shipped
    [loaded] = events(world, type_="policy.loaded")  # the start is on record, as for a file
    assert loaded["data"]["source"] == "shipped_default"
    assert loaded["data"]["version"] == shipped and loaded["data"]["rules"] > 0


def test_shadow_beside_the_shipped_default(db_url: str, tmp_path: Path, clock: FakeClock
                                          ) -> None:
    shadow_file = tmp_path / "shadow.yaml"
    shadow_file.write_text(SHADOW)
    data_dir = tmp_path / "data"
    prepare(data_dir, db_url)
    env = {"SIGNOFF_DATA_DIR": str(data_dir), "SIGNOFF_DATABASE_URL": db_url}
    app = build(load_settings(data_dir=data_dir, database_url=db_url, policy=None,
                              policy_shadow=shadow_file), clock=clock)
    try:
        world = make_world(app)
        info = describe_policy(world.ctx)
        assert info["source"] == "shipped_default"
        assert info["shadow"]["path"] == str(shadow_file)
        assert info["shadow"]["rule_ids"] == ["drafts-need-approval", "deploys-reviewed-after",
                                              "notes-low"]
        draft = propose(world, "draft.reply", target="ticket/1")
        assert draft.status.value == "allowed"  # the shipped default enforces; the shadow not
        submitted = events(world, action_id=draft.id, type_="action.submitted")[0]["data"]
        assert submitted["matched_rules"] == ["internal-drafting"]
        assert submitted["shadow"]["differs"] is True and submitted["shadow"]["tier"] == "high"
        report = shadow_report(world.ctx, ADMIN)
        assert [(i["action_id"], i["verdict"]) for i in report["items"]] == \
            [(draft.id, "stricter")]
        out = json.loads(cli("policy", "diff-report", "--format", "json", env=env).stdout)
        assert out["summary"]["stricter"] == 1
        # the shadow file is re-read on reload (the shipped default stays as it is) ...
        before = info["shadow"]["version"]
        shadow_file.write_text(SHADOW.replace("tier: low\n", "tier: medium\n"))
        good = reload_policy(world.ctx, ADMIN)
        assert good["ok"] is True and not good["shadow_errors"]
        assert good["version"] == info["active"]["version"]
        assert good["shadow_version"] not in (None, before)
        # ... and a broken one keeps the last good shadow
        shadow_file.write_text("version: 1\nrules: {}\n")
        bad = reload_policy(world.ctx, ADMIN)
        assert bad["ok"] is True and bad["shadow_errors"]
        assert bad["shadow_version"] == good["shadow_version"]
        assert events(world, type_="policy.reload_failed")[0]["data"]["shadow_errors"]
    finally:
        app.close()


def test_shadow_differences_are_recorded_and_reported(pworld: PolicyWorld, db_url: str,
                                                      tmp_path: Path) -> None:
    deploy = propose(pworld, "deploy.release", target="svc/api")      # shadow: looser
    draft = propose(pworld, "draft.reply", target="ticket/1")         # shadow: stricter
    note = propose(pworld, "note.add", target="ticket/1")             # same tier, other rules
    shadow = events(pworld, action_id=draft.id, type_="action.submitted")[0]["data"]["shadow"]
    assert shadow["differs"] is True and shadow["tier"] == "high"
    assert shadow["differences"]["mode"] == ["allow", "require_approval"]
    assert draft.status.value == "allowed"  # the shadow enforces nothing
    report = shadow_report(pworld.ctx, ADMIN)
    verdicts = {i["action_id"]: i["verdict"] for i in report["items"]}
    assert verdicts == {deploy.id: "looser", draft.id: "stricter", note.id: "different"}
    assert report["summary"] | {"since": None} == {
        "evaluated": 3, "differing": 3, "stricter": 1, "looser": 1, "different": 1,
        "errors": 0, "same": 0, "since": None}
    with pytest.raises(Forbidden):
        shadow_report(pworld.ctx, pworld.rita)
    # the CLI reads the same records
    env = {"SIGNOFF_DATA_DIR": str(tmp_path / "data"), "SIGNOFF_DATABASE_URL": db_url}
    out = json.loads(cli("policy", "diff-report", "--format", "json", env=env).stdout)
    assert out["summary"]["stricter"] == 1 and out["summary"]["looser"] == 1
    table = cli("policy", "diff-report", "--since", "2000-01-01", env=env).stdout
    assert "1 stricter, 1 looser" in table and "high/require_approval" in table
    future = json.loads(cli("policy", "diff-report", "--since", "2999-01-01", "--format",
                            "json", env=env).stdout)
    assert future["summary"]["evaluated"] == 0


def test_policy_api_reload_and_start_event(pworld: PolicyWorld) -> None:
    assert pworld.admin is not None
    _, admin_token = identities.create_user_token(pworld.ctx, ADMIN, pworld.admin.id, name="t")
    _, rita_token = identities.create_user_token(pworld.ctx, ADMIN, pworld.rita.id, name="t")
    with TestClient(create_app(pworld.app, sweeper=False)) as client:
        admin = {"Authorization": f"Bearer {admin_token}"}
        got = client.get("/v1/policy", headers=admin)
        assert got.status_code == 200 and got.json()["active"]["version"] == pworld.holder.version  # type: ignore[union-attr]
        assert client.post("/v1/policy/reload",
                           headers={"Authorization": f"Bearer {rita_token}"}).status_code == 403
        r = client.post("/v1/policy/reload", headers=admin)
        assert r.status_code == 200 and r.json()["ok"] is True and r.json()["changed"] is False
        assert pworld.shadow_file is not None
        pworld.shadow_file.write_text("version: 1\nrules: {}\n")  # a bad shadow: 422 too
        r = client.post("/v1/policy/reload", headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "policy_reload_failed"
        assert r.json()["ok"] is True and r.json()["shadow_errors"]
        assert r.json()["policy"]["shadow"]["rule_ids"] == ["drafts-need-approval",
                                                           "deploys-reviewed-after", "notes-low"]
    loaded = events(pworld, type_="policy.loaded")
    assert len(loaded) == 1 and loaded[0]["data"]["version"] == pworld.holder.version  # type: ignore[union-attr]
    assert loaded[0]["data"]["shadow_version"] is not None
