"""Decision semantics of SPEC section 4: deny wins, highest tier, strictest requirements."""

from __future__ import annotations

from policy_helpers import policy, subject

from signoff.domain.policy import DEFAULT_APPROVERS, Mode, QuorumFactor, Tier

RULES = """
- id: no-prod-secrets
  when: action.kind.startsWith("secrets.") && action.target.startsWith("prod/")
  deny: "agents may not read production secrets"
- id: secrets
  when: action.kind.startsWith("secrets.")
  tier: critical
- id: large-payments
  when: action.kind == "payments.send" && double(action.params.amount) > 1000.0
  tier: critical
  approvers: ["group:finance-leads"]
- id: external
  when: "!action.impact.reversible || action.impact.external"
  tier: high
  min_review_seconds: 2m
  expires_in: 30m
- id: drafts
  when: action.kind.startsWith("draft.")
  tier: low
  post_review_sample: 0.1
"""


def test_unmatched_gets_default_tier() -> None:
    d = policy(RULES).decide(subject("crm.update"))
    assert (d.tier, d.mode, d.matched_rules) == (Tier.HIGH, Mode.REQUIRE_APPROVAL, ())
    assert d.reasons[0].rule_id == "default_tier"


def test_any_deny_denies_even_with_other_matches() -> None:
    d = policy(RULES).decide(subject("secrets.read", target="prod/db"))
    assert d.mode == Mode.DENY
    assert d.reasons[0].message == "agents may not read production secrets"
    assert set(d.matched_rules) == {"no-prod-secrets", "secrets"}


def test_highest_matched_tier_wins() -> None:
    d = policy(RULES).decide(subject("draft.x", impact={"external": True}))
    assert d.tier == Tier.HIGH and d.mode == Mode.REQUIRE_APPROVAL
    assert d.matched_rules == ("external", "drafts")


def test_low_rule_alone_allows_with_rule_sample() -> None:
    d = policy(RULES).decide(subject("draft.x"))
    assert d.mode == Mode.ALLOW
    assert d.requirements.post_review_sample == 0.1  # stricter than the tier's 0.02


def test_strictest_requirements_from_lower_matched_rule() -> None:
    d = policy(RULES).decide(subject("draft.x", impact={"reversible": False}))
    r = d.requirements
    assert r.min_review_seconds == 120 and r.expires_in == 1800
    assert r.post_review_sample == 0.1 and r.rationale_required


def test_rule_approvers_take_the_tier_count() -> None:
    d = policy(RULES).decide(subject("payments.send", params={"amount": 5000}))
    assert d.tier == Tier.CRITICAL
    assert d.requirements.factors == (QuorumFactor(("group:finance-leads",), 2),)
    assert d.policy_version.startswith("sha256:")


def test_require_factors_and_shortfall() -> None:
    p = policy("""
    - id: two-factor
      when: action.kind == "a"
      tier: high
      require: [{from: owner, count: 1}, {from: "group:security", count: 1}]
    - id: three
      when: action.kind == "a" && action.target == "big"
      tier: high
      approvals: 3
    - id: more-time
      when: action.kind == "a"
      tier: high
      escalate_after: 5m
      grant_ttl: 1m
      expires_in: 8h
    """)
    d = p.decide(subject("a"))
    assert d.requirements.factors == (QuorumFactor(("owner",), 1),
                                      QuorumFactor(("group:security",), 1))
    assert d.requirements.escalate_after == 300 and d.requirements.grant_ttl == 60
    assert d.requirements.expires_in == 4 * 3600  # a rule cannot lengthen expiry
    d = p.decide(subject("a", target="big"))
    assert d.requirements.approvals == 3
    assert d.requirements.factors[-1] == QuorumFactor(DEFAULT_APPROVERS, 1)


def test_same_pool_keeps_larger_count() -> None:
    p = policy("""
    - id: a
      when: action.kind == "k"
      tier: high
      approvers: [group:ops]
      approvals: 1
    - id: b
      when: action.target == "t"
      tier: high
      approvers: [group:ops]
      approvals: 2
    """)
    d = p.decide(subject("k", target="t"))
    assert d.requirements.factors == (QuorumFactor(("group:ops",), 2),)


def test_decisions_are_memoised_but_equal() -> None:
    p = policy(RULES)
    assert p.decide(subject("draft.x")) is p.decide(subject("draft.y"))
    assert p.decide(subject("draft.x")) != p.decide(subject("crm.x"))
