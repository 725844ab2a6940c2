"""The shipped default policy loads and passes its own cases file."""

from __future__ import annotations

from policy_helpers import subject

from signoff.adapters.policy import (
    default_cases_path,
    default_policy_path,
    load_cases,
    load_policy,
    run_cases,
)
from signoff.domain.policy import BuiltinTierTable, QuorumFactor, Tier


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


def test_the_builtin_table_gates_elevation_like_the_default_policy() -> None:
    # Without SIGNOFF_POLICY the built-in table decides: an elevation must not be weaker there.
    builtin = BuiltinTierTable().decide(subject("signoff.agent.elevate"))
    shipped = load_policy(default_policy_path()).decide(subject("signoff.agent.elevate"))
    assert builtin.tier == shipped.tier == Tier.HIGH
    assert builtin.requirements.factors == shipped.requirements.factors
    assert builtin.requirements.expires_in == shipped.requirements.expires_in == 3600
