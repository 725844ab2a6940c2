"""The shipped default policy loads, passes its own cases file, and is what a server without
``SIGNOFF_POLICY`` enforces."""

from __future__ import annotations

import shutil
from pathlib import Path

from policy_helpers import subject

from signoff.adapters.policy import (
    default_cases_path,
    default_policy_path,
    load_cases,
    load_policy,
    run_cases,
)
from signoff.adapters.policy.wiring import policy_source
from signoff.config import load_settings
from signoff.domain.policy import Mode, QuorumFactor, Tier


def test_default_policy_cases_pass() -> None:
    results = run_cases(load_policy(default_policy_path()), load_cases(default_cases_path()))
    assert len(results) >= 20
    assert [(r.case.name, r.failures) for r in results if not r.passed] == []


def test_elevation_needs_owner_and_an_admin() -> None:
    d = load_policy(default_policy_path()).decide(subject("signoff.agent.elevate"))
    assert d.tier == Tier.HIGH
    assert d.requirements.factors == (QuorumFactor(("agent_owner",), 1),
                                      QuorumFactor(("role:admin",), 1))
    assert d.requirements.expires_in == 3600


def test_a_failing_case_is_reported() -> None:
    policy = load_policy(default_policy_path())
    cases = load_cases(default_cases_path())
    broken = [c for c in cases if c.expect.get("tier") == "low"][0]
    broken.expect["tier"] = "high"
    (result,) = run_cases(policy, [broken])
    assert not result.passed and "tier low, expected high" in result.failures[0]


def test_flat_and_nested_contexts_decide_alike() -> None:
    flat = load_policy(default_policy_path())
    nested = load_policy(default_policy_path(), flatten=False)
    cases = load_cases(default_cases_path())
    extra = [subject("payments.send", params={"amount": "12x"}), subject("iam.grant", params=7)]
    for s in [c.input for c in cases] + extra:
        a, b = flat.decide(s), nested.decide(s)
        assert (a.tier, a.mode, a.matched_rules) == (b.tier, b.mode, b.matched_rules)
    assert [r.failures for r in run_cases(nested, cases) if r.failures] == []


def test_without_signoff_policy_the_shipped_default_decides(tmp_path: Path) -> None:
    source = policy_source(load_settings(data_dir=tmp_path, policy=None, policy_shadow=None))
    shipped = load_policy(default_policy_path())
    info = source.describe()
    assert info["source"] == "shipped_default" and info["shadow"] is None
    assert info["active"]["version"] == shipped.version == source.current.version
    assert info["active"]["path"] == str(default_policy_path())
    assert info["active"]["rule_ids"] == list(shipped.rule_ids)
    s = subject("deploy.release", target="svc/api", impact={"reversible": True})
    assert source.current.decide(s) == shipped.decide(s)


def test_a_copy_of_the_default_is_the_operators_file(tmp_path: Path) -> None:
    copy = tmp_path / "policy.yaml"
    shutil.copyfile(default_policy_path(), copy)
    info = policy_source(load_settings(data_dir=tmp_path, policy=copy)).describe()
    assert info["source"] == "file" and info["active"]["path"] == str(copy)


def _decide(kind: str, target: str = "ticket/1", **impact: bool) -> tuple[Tier, Mode]:
    d = load_policy(default_policy_path()).decide(subject(
        kind, target=target, impact={"reversible": True, "external": False, **impact},
        chain_depth=0))
    return d.tier, d.mode


def test_the_default_policy_fails_closed_and_raises_for_impact() -> None:
    assert _decide("something.unknown") == (Tier.HIGH, Mode.REQUIRE_APPROVAL)
    assert _decide("x") == (Tier.HIGH, Mode.REQUIRE_APPROVAL)
    assert _decide("draft.reply") == (Tier.LOW, Mode.ALLOW)
    assert _decide("deploy.release", target="svc/api") == (Tier.HIGH, Mode.REQUIRE_APPROVAL)
    assert _decide("secrets.read", target="vault/ci-token") == (Tier.CRITICAL,
                                                               Mode.REQUIRE_APPROVAL)
    assert _decide("secrets.read", target="prod/db") == (Tier.CRITICAL, Mode.DENY)
    assert _decide("draft.reply", external=True) == (Tier.HIGH, Mode.REQUIRE_APPROVAL)
    assert _decide("note.add", reversible=False) == (Tier.HIGH, Mode.REQUIRE_APPROVAL)
