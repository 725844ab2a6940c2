"""CEL typing as a policy author expects it, and fail-closed runtime errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import cel
import pytest
from policy_helpers import policy, subject

from signoff.adapters.policy import default_policy_path, load_policy, policy_input
from signoff.domain.policy import Mode, Tier

AMOUNT = """
- id: big
  when: action.kind == "pay" && action.params.amount > 1000
  tier: critical
- id: draft
  when: action.kind == "pay"
  tier: low
"""


@pytest.mark.parametrize(("amount", "tier"), [
    (1500, Tier.CRITICAL), (1000.5, Tier.CRITICAL), (1000, Tier.LOW), (999.99, Tier.LOW),
    (Decimal("1200.5"), Tier.CRITICAL),
])
def test_int_and_float_params_compare_as_numbers(amount: object, tier: Tier) -> None:
    assert policy(AMOUNT).decide(subject("pay", params={"amount": amount})).tier == tier


def test_has_on_missing_key_is_false_not_an_error() -> None:
    p = policy("""
    - id: flagged
      when: has(action.params.urgent) && action.params.urgent == true
      tier: critical
    - id: rest
      when: "true"
      tier: low
    """)
    assert p.decide(subject(params={})).tier == Tier.LOW
    assert p.decide(subject(params={"urgent": True})).tier == Tier.CRITICAL


def test_runtime_error_counts_as_critical_with_reason() -> None:
    p = policy("""
    - id: amount
      when: action.params.amount > 10
      tier: low
    """)
    d = p.decide(subject(params={}))
    assert d.tier == Tier.CRITICAL and d.mode == Mode.REQUIRE_APPROVAL
    assert d.matched_rules == ("amount",)
    assert "amount" in d.reasons[0].message and "failed to evaluate" in d.reasons[0].message


def test_runtime_type_error_on_this_input_is_critical() -> None:
    p = policy("""
    - id: t
      when: action.params.n + 1 > 2
      tier: low
    """)
    assert p.decide(subject(params={"n": 2})).tier == Tier.LOW
    # CEL compares int with double but does not add them: arithmetic needs double(...)
    assert p.decide(subject(params={"n": 1.5})).tier == Tier.CRITICAL
    d = p.decide(subject(params={"n": "x"}))
    assert d.tier == Tier.CRITICAL and "TypeError" in d.reasons[0].message


def test_runtime_error_in_deny_rule_does_not_allow() -> None:
    p = policy("""
    - id: d
      when: action.params.x == 1
      deny: "never"
    - id: low
      when: "true"
      tier: low
    """)
    assert p.decide(subject()).tier == Tier.CRITICAL


def test_now_is_a_timestamp() -> None:
    p = policy("""
    - id: change-freeze
      when: now > timestamp("2026-12-20T00:00:00Z") && now < timestamp("2027-01-02T00:00:00Z")
      tier: critical
    - id: deploys
      when: action.kind == "deploy"
      tier: medium
    """)
    def at(day: datetime) -> Tier:
        return p.decide(policy_input({"action": {"kind": "deploy"}, "now": day})).tier
    assert at(datetime(2026, 12, 24, tzinfo=UTC)) == Tier.CRITICAL
    assert at(datetime(2026, 11, 24)) == Tier.MEDIUM  # naive datetimes are taken as UTC


def test_agent_workflow_requester_and_labels() -> None:
    p = policy("""
    - id: untrusted
      when: >-
        agent.labels.env == "sandbox" && workflow.name == "refunds"
        && requester == "bob@example.com" && action.chain_depth >= 1
      tier: critical
    """)
    data = {"action": {"kind": "x", "workflow": "refunds", "chain_depth": 1},
            "agent": {"labels": {"env": "sandbox"}}, "workflow": {"name": "refunds"},
            "requester": "bob@example.com"}
    assert p.decide(policy_input(data)).tier == Tier.CRITICAL
    data["requester"] = None
    assert p.decide(policy_input(data)).tier == Tier.HIGH


def test_params_projection_handles_dynamic_access() -> None:
    p = policy("""
    - id: keys
      when: size(action.params) > 2 || ("odd-key" in action.params && action.params["odd-key"] == 1)
      tier: critical
    - id: items
      when: action.params.items.exists(i, i.price > 10)
      tier: medium
    """)
    assert p.decide(subject(params={"a": 1, "b": 2, "c": 3, "items": []})).tier == Tier.CRITICAL
    assert p.decide(subject(params={"odd-key": 1, "items": []})).tier == Tier.CRITICAL
    assert p.decide(subject(params={"items": [{"price": 11}]})).tier == Tier.MEDIUM


def test_kind_guard_gives_same_answer_as_cel() -> None:
    p = policy("""
    - id: g
      when: (action.kind.startsWith("a.") || action.kind.endsWith(".z")) && action.target == "t"
      tier: critical
    - id: h
      when: action.kind in ["q", "r"]
      tier: medium
    """)
    assert p.decide(subject("a.b", target="t")).tier == Tier.CRITICAL
    assert p.decide(subject("y.z", target="t")).tier == Tier.CRITICAL
    assert p.decide(subject("b.b", target="t")).tier == Tier.HIGH
    assert p.decide(subject("r")).tier == Tier.MEDIUM
    assert p.decide(subject("s")).tier == Tier.HIGH


def test_explain_says_why_not() -> None:
    p = policy("""
    - id: big
      when: action.kind == "pay" && action.params.amount > 1000
      tier: critical
    - id: target
      when: action.target.startsWith("prod/") && action.params.amount > 5
      tier: high
    - id: lone
      when: action.target == "nope"
      tier: high
    - id: boom
      when: action.params.missing > 1
      tier: low
    """)
    decision, outcomes = p.explain(subject("pay", target="dev/x", params={"amount": 10}))
    by_id = {o.rule_id: o for o in outcomes}
    assert by_id["big"].status == "false" and "action.params.amount > 1000" in by_id["big"].detail
    assert by_id["target"].detail.startswith('action.target.startsWith("prod/") is false')
    assert by_id["lone"].detail == "the condition evaluated to false"
    assert by_id["boom"].status == "error" and "missing" in by_id["boom"].detail
    assert decision.tier == Tier.CRITICAL


def test_flattened_paths_fail_closed_with_readable_errors() -> None:
    p = policy("""
    - id: amount
      when: action.params.amount > 10
      tier: low
    - id: nested-has
      when: has(action.params.x.y)
      tier: low
    """)
    d = p.decide(subject(params={}))
    messages = {r.rule_id: r.message for r in d.reasons}
    assert "no such key: action.params.amount" in messages["amount"]
    assert "has() on action.params.x" in messages["nested-has"]
    assert "_sx_" not in " ".join(messages.values())
    assert d.tier == Tier.CRITICAL
    ok = p.decide(subject(params={"amount": 11, "x": {"y": 1}}))
    assert ok.tier == Tier.LOW and ok.matched_rules == ("amount", "nested-has")
    whole = policy("""
    - id: whole
      when: size(action) > 0 && action.params.amount > 10
      tier: low
    """)
    assert whole.decide(subject(params={"amount": 11})).tier == Tier.LOW
    assert "'amount'" in whole.decide(subject(params={})).reasons[0].message


def test_string_literals_that_look_like_paths_are_left_alone() -> None:
    p = policy("""
    - id: lit
      when: action.target == "action.kind" && 'has(action.x)' != action.kind
      tier: critical
    """)
    assert p.decide(subject("k", target="action.kind")).tier == Tier.CRITICAL
    assert p.decide(subject("k", target="other")).tier == Tier.HIGH


def test_non_string_kind_is_left_to_cel_and_fails_closed() -> None:
    p = policy("""
    - id: drafts
      when: action.kind.startsWith("draft.")
      tier: low
    """)
    d = p.decide(policy_input({"action": {"kind": 5}}))
    assert d.tier == Tier.CRITICAL and d.matched_rules == ("drafts",)


def test_rules_are_compiled_once_per_load_not_per_decision(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    calls = []
    real = cel.compile
    monkeypatch.setattr(cel, "compile", lambda src: calls.append(src) or real(src))
    p = load_policy(default_policy_path())
    assert len(calls) >= len(p.rule_ids)
    calls.clear()
    for amount in range(300):
        p.decide(subject("payments.send", target=f"acct/{amount}", params={"amount": amount}))
        p.decide(subject("draft.email", params={"body": str(amount)}, chain_depth=amount % 5))
    assert calls == []
