"""Approver expressions resolved at decision time and kept with the action (SQLite and PG)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from signoff.errors import Forbidden
from signoff.services import identities
from signoff.services.policy_admin import describe_policy, record_policy_loaded
from signoff.services.queries import get_action
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World, cli, human, make_world, prepare
from tests.integration.policy.conftest import TIERS, approve, build_policy_app, events, propose

POLICY = "version: 1\ndefault_tier: high\n" + textwrap.dedent(TIERS) + textwrap.dedent("""\
    rules:
      - id: owner-and-security
        when: action.kind.startsWith("iam.")
        tier: high
        require: [{from: owner, count: 1}, {from: "group:security", count: 1}]
      - id: admins-only
        when: action.kind.startsWith("secrets.")
        tier: high
        approvers: ["role:admin"]
      - id: drafts
        when: action.kind.startsWith("draft.")
        tier: low
    """)


@pytest.fixture
def aworld(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[World]:
    data_dir = tmp_path / "data"
    prepare(data_dir, db_url)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    app, _ = build_policy_app(data_dir, db_url, clock, policy_file, None)
    try:
        world = make_world(app)
        # olivia owns the workflow and is in security too: she alone must not meet both factors
        identities.create_group(app.ctx, ADMIN, name="security",
                                members=["olivia@example.com", "sid@example.com"])
        yield world
    finally:
        app.close()


def test_owner_and_security_need_two_people_and_keep_their_pools(aworld: World) -> None:
    action = propose(aworld, "iam.grant", target="github/org/acme", params={"role": "member"})
    assert action.status.value == "pending"
    pools = {f["label"]: set(f["pool"]) for f in action.eligible}
    assert pools == {"owner": {aworld.owner.id},
                     "group:security": {aworld.owner.id, aworld.sid.id}}
    assert approve(aworld, action.id, aworld.owner)["status"] == "pending"  # counts once
    # Security changes after the decision: who was eligible for this action does not.
    identities.set_group_members(aworld.ctx, ADMIN, "security", members=["rita@example.com"])
    with pytest.raises(Forbidden):
        approve(aworld, action.id, aworld.rita)
    assert approve(aworld, action.id, aworld.sid)["status"] == "approved"
    later = propose(aworld, "iam.grant", target="github/org/acme", params={"role": "triage"})
    assert {f["label"]: set(f["pool"]) for f in later.eligible}["group:security"] == \
        {aworld.rita.id}


def test_role_approvers_are_whoever_holds_the_role_at_decision_time(aworld: World) -> None:
    first_admin = human(aworld.app, "adam@example.com", ["admin"])
    action = propose(aworld, "secrets.read", target="staging/api-key", params={})
    assert [set(f["pool"]) for f in action.eligible] == [{first_admin.id}]
    second_admin = human(aworld.app, "ada@example.com", ["admin"])
    with pytest.raises(Forbidden):  # made admin after the decision: not eligible for it
        approve(aworld, action.id, second_admin)
    assert approve(aworld, action.id, first_admin)["status"] == "approved"
    newer = propose(aworld, "secrets.read", target="staging/api-key", params={"n": 2})
    assert set(newer.eligible[0]["pool"]) == {first_admin.id, second_admin.id}


def test_automatic_decisions_name_the_policy_and_the_rule(aworld: World) -> None:
    allowed = propose(aworld, "draft.note", target="doc/1", params={})
    assert allowed.status.value == "allowed"
    data = events(aworld, action_id=allowed.id, type_="action.submitted")[0]["data"]
    assert data["decided_by"] == "system:policy" and data["matched_rules"] == ["drafts"]
    assert data["policy_version"].startswith("sha256:")
    record = get_action(aworld.ctx, aworld.owner, allowed.id)
    assert [r["rule_id"] for r in record["reasons"]] == ["drafts"]


def test_groups_are_managed_from_the_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"SIGNOFF_DATA_DIR": str(data_dir)}
    prepare(data_dir, f"sqlite:///{data_dir / 'signoff.db'}")
    for email in ("sid@example.com", "rita@example.com"):
        cli("user", "add", email, env=env)
    cli("group", "add", "security", "--members", "sid@example.com", env=env)
    out = cli("group", "set-members", "security", "--members",
              "rita@example.com,sid@example.com", env=env).stdout
    assert "2 member(s)" in out
    assert cli("group", "list", env=env).stdout.strip() == \
        "security: rita@example.com, sid@example.com"
    bad = cli("group", "set-members", "security", "--members", "ghost@example.com", env=env,
              check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == "signoff: error: no user ghost@example.com"
    assert "rita@example.com" in cli("group", "list", env=env).stdout  # unchanged


def test_approvers_that_name_nobody_now_are_warned_about(aworld: World) -> None:
    def warnings() -> list[str]:
        return describe_policy(aworld.ctx)["active"]["warnings"]  # type: ignore[no-any-return]

    [only] = warnings()  # no human holds the admin role yet; security has members
    assert "rule admins-only: role:admin names nobody now" in only
    line = POLICY.splitlines().index("  - id: admins-only") + 1
    assert only.split(":")[1:3] == [str(line), "5"]  # file:line:col of the rule
    human(aworld.app, "adam@example.com", ["admin"])
    assert warnings() == []
    identities.set_group_members(aworld.ctx, ADMIN, "security", members=[])
    [empty] = warnings()
    assert "group:security names nobody now (no active members)" in empty
    assert record_policy_loaded(aworld.ctx) == [empty]
    assert events(aworld, type_="policy.loaded")[-1]["data"]["warnings"] == [empty]
