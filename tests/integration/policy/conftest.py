"""A signoff wired with the shipped default policy (a copy on disk, so reloads can edit it) and
a shadow policy that is stricter for drafts and looser for deploys."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signoff.adapters.policy import PolicyHolder, default_policy_path
from signoff.bootstrap import Signoff, build
from signoff.config import load_settings
from signoff.domain.actions import ActionRequest, Impact
from signoff.domain.identities import Principal
from signoff.services import identities, workflows
from signoff.services.actions import submit_action
from signoff.services.queries import get_action
from signoff.services.reviews import review_action
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World, human, make_world, prepare

TIERS = """\
    tiers:
      low:      {mode: allow, post_review_sample: 0.02}
      medium:   {mode: allow_and_review, post_review_sample: 1.0}
      high:     {mode: require_approval, approvals: 1, min_review_seconds: 15s,
                 rationale_required: true, escalate_after: 30m, expires_in: 4h, grant_ttl: 5m}
      critical: {mode: require_approval, approvals: 2, min_review_seconds: 30s,
                 rationale_required: true, escalate_after: 15m, expires_in: 1h, grant_ttl: 2m}
"""

SHADOW = "version: 1\ndefault_tier: high\n" + textwrap.dedent(TIERS) + textwrap.dedent("""\
    rules:
      - id: drafts-need-approval
        when: action.kind.startsWith("draft.")
        tier: high
      - id: deploys-reviewed-after
        when: action.kind.startsWith("deploy.")
        tier: medium
      - id: notes-low
        when: action.kind.startsWith("note.")
        tier: low
    """)


@dataclass
class PolicyWorld(World):
    admin: Principal | None = None
    policy_file: Path | None = None
    shadow_file: Path | None = None
    holder: PolicyHolder | None = None


def build_policy_app(data_dir: Path, db_url: str, clock: Any, policy_file: Path,
                     shadow_file: Path | None) -> tuple[Signoff, PolicyHolder]:
    holder = PolicyHolder.from_paths(policy_file, shadow_file)
    settings = load_settings(data_dir=data_dir, database_url=db_url, policy=policy_file,
                             policy_shadow=shadow_file)
    return build(settings, clock=clock, policy=holder), holder


@pytest.fixture
def policy_files(tmp_path: Path) -> tuple[Path, Path]:
    policy_file = tmp_path / "policy.yaml"
    shutil.copyfile(default_policy_path(), policy_file)
    shadow_file = tmp_path / "shadow.yaml"
    shadow_file.write_text(SHADOW)
    return policy_file, shadow_file


@pytest.fixture
def psignoff(db_url: str, tmp_path: Path, clock: FakeClock, policy_files: tuple[Path, Path]
             ) -> Iterator[Signoff]:
    data_dir = tmp_path / "data"
    prepare(data_dir, db_url)
    app, _ = build_policy_app(data_dir, db_url, clock, *policy_files)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def pworld(psignoff: Signoff, policy_files: tuple[Path, Path]) -> PolicyWorld:
    base = make_world(psignoff)
    admin = human(psignoff, "adam@example.com", ["admin"])
    identities.create_group(psignoff.ctx, ADMIN, name="admins", members=["adam@example.com"])
    workflows.create_workflow(psignoff.ctx, ADMIN, name="refunds",
                              owner_email="olivia@example.com", backups=["rita@example.com"])
    holder = psignoff.ctx.policy.holder  # type: ignore[attr-defined]
    return PolicyWorld(**{f: getattr(base, f) for f in World.__dataclass_fields__},
                       admin=admin, policy_file=policy_files[0], shadow_file=policy_files[1],
                       holder=holder)


def request(kind: str, *, workflow: str = "prod-deploys", target: str = "svc/api",
            params: dict[str, Any] | None = None) -> ActionRequest:
    return ActionRequest(workflow=workflow, kind=kind, target=target,
                         params={"version": "1.2.3"} if params is None else params,
                         summary=f"{kind} on {target}", impact=Impact())


def propose(world: World, kind: str, **over: Any) -> Any:
    action, _ = submit_action(world.ctx, world.agent, request(kind, **over))
    return action


def approve(world: World, action_id: str, who: Principal, *, wait: float = 60) -> dict[str, Any]:
    get_action(world.ctx, who, action_id)
    world.app.ctx.clock.advance(wait)
    return review_action(world.ctx, who, action_id, verdict="approve",
                         rationale="Checked why the agent needs this and for how long.")


def events(world: World, *, action_id: str | None = None, type_: str | None = None
           ) -> list[dict[str, Any]]:
    with world.ctx.uow(readonly=True) as uow:
        rows = uow.audit.events(action_id=action_id, limit=100_000)
    return [r for r in rows if type_ is None or r["type"] == type_]
