"""Bad policies are refused with file, rule id, line, column and a hint; never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from signoff.adapters.policy import PolicyError, load_policy
from signoff.domain.policy import Tier
from signoff.errors import ConfigurationError

Write = Callable[[str, str], Path]

HEAD = """\
version: 1
default_tier: high
tiers:
  high: {mode: require_approval, approvals: 1}
rules:
"""


def errors(write: Write, body: str, name: str = "p.yaml") -> PolicyError:
    path = write(name, body)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.file == str(path)
    return info.value


def test_invalid_yaml(write: Write) -> None:
    e = errors(write, HEAD + "  - id: a\n    when: [unclosed\n")
    assert "invalid YAML" in e.issues[0].message
    assert e.line >= 6 and e.column > 0


def test_unknown_key_with_position(write: Write) -> None:
    e = errors(write, HEAD + '  - id: a\n    when: "true"\n    tier: high\n    aprovers: [owner]\n')
    assert (e.rule_id, e.line, e.column) == ("a", 9, 5)
    assert "unknown key 'aprovers'" in e.issues[0].message and "approvers" in e.hint


def test_unknown_top_level_key_and_missing_version(write: Write) -> None:
    e = errors(write, "default_tier: high\nrulez: []\n")
    messages = [i.message for i in e.issues]
    assert any("unknown key 'rulez'" in m for m in messages)
    assert any("version: 1" in m for m in messages)


def test_bad_tier_name(write: Write) -> None:
    e = errors(write, HEAD + '  - id: a\n    when: "true"\n    tier: severe\n')
    assert (e.rule_id, e.line, e.column) == ("a", 8, 11)
    assert "unknown tier 'severe'" in e.issues[0].message and "critical" in e.hint


def test_bad_tier_name_in_tiers(write: Write) -> None:
    e = errors(write, "version: 1\ntiers:\n  urgent: {mode: allow}\n")
    assert (e.line, e.column) == (3, 3)


def test_cel_syntax_error_column(write: Write) -> None:
    e = errors(write, HEAD + "  - id: a\n    when: action.kind ==\n    tier: high\n")
    assert e.rule_id == "a" and "CEL syntax error" in e.issues[0].message
    assert (e.line, e.column) == (7, 25)  # the end of the expression, where CEL expected more


def test_cel_syntax_error_in_block_scalar(write: Write) -> None:
    e = errors(write, HEAD + "  - id: a\n    when: >-\n      action.kind == &&\n    tier: high\n")
    assert e.rule_id == "a" and e.line == 8


def test_cel_type_error(write: Write) -> None:
    e = errors(write, HEAD + "  - id: typed\n    when: action.kind > 5\n    tier: high\n")
    assert e.rule_id == "typed" and "type error" in e.issues[0].message
    assert (e.line, e.column) == (7, 11) and "double()" in e.hint


def test_cel_non_boolean_result(write: Write) -> None:
    e = errors(write, HEAD + "  - id: s\n    when: action.kind\n    tier: high\n")
    assert "true or false" in e.issues[0].message


def test_unknown_variable_and_function(write: Write) -> None:
    e = errors(write, HEAD + '  - id: v\n    when: actor.kind == "x"\n    tier: high\n'
                             '  - id: f\n    when: lower(action.kind) == "x"\n    tier: high\n')
    assert [(i.rule_id, i.message) for i in e.issues] == [
        ("v", "unknown variable 'actor'"), ("f", "unknown function 'lower'")]


def test_duplicate_rule_ids(write: Write) -> None:
    e = errors(write, HEAD + '  - {id: a, when: "true", tier: high}\n'
                             '  - {id: a, when: "false", tier: high}\n')
    assert e.rule_id == "a" and e.line == 7 and "duplicate rule id" in e.issues[0].message


@pytest.mark.parametrize("approver", ["admins", "user:bob", "group:", "[]"])
def test_approver_that_names_nobody(write: Write, approver: str) -> None:
    value = approver if approver == "[]" else f'["{approver}"]'
    e = errors(write, HEAD + f'  - id: a\n    when: "true"\n    tier: high\n'
                             f'    approvers: {value}\n')
    assert e.rule_id == "a" and e.line == 9


def test_tier_requiring_approval_with_zero_approvals(write: Write) -> None:
    e = errors(write, "version: 1\ntiers:\n  high: {mode: require_approval, approvals: 0}\n")
    assert "zero approvals" in e.issues[0].message and e.line == 3


def test_tier_with_empty_approver_pool(write: Write) -> None:
    e = errors(write, "version: 1\ntiers:\n  critical: {mode: require_approval, approvers: []}\n")
    assert "name nobody" in e.issues[0].message


@pytest.mark.parametrize("rule", [
    '{id: a, when: "true"}', '{id: a, when: "true", tier: high, deny: "x"}'])
def test_tier_xor_deny(write: Write, rule: str) -> None:
    e = errors(write, HEAD + f"  - {rule}\n")
    assert "exactly one of 'tier' or 'deny'" in e.issues[0].message


def test_deny_rule_with_requirements(write: Write) -> None:
    e = errors(write, HEAD + '  - {id: a, when: "true", deny: "no", approvals: 2}\n')
    assert "cannot set approvals" in e.issues[0].message


def test_approvers_on_a_tier_that_never_asks(write: Write) -> None:
    e = errors(write, HEAD + '  - {id: a, when: "true", tier: low, approvers: [owner]}\n')
    assert e.rule_id == "a" and "never asks for approval" in e.issues[0].message


@pytest.mark.parametrize(("value", "ok"), [
    ("30m", True), ("4h", True), ("15s", True), ("1d", True), ("1h30m", True), ("90", True),
    ("4 hours", False), ("-5", False), ("h", False), ("0", False)])
def test_durations(write: Write, value: str, ok: bool) -> None:
    path = write("p.yaml", HEAD + f'  - {{id: a, when: "true", tier: high, expires_in: {value}}}\n')
    if ok:
        load_policy(path)
    else:
        with pytest.raises(PolicyError) as info:
            load_policy(path)
        assert info.value.rule_id == "a" and "expires_in" in info.value.issues[0].message


def test_all_issues_reported_together(write: Write) -> None:
    e = errors(write, HEAD + '  - {id: a, when: "true", tier: nope}\n'
                             '  - {id: b, when: "true", tier: high, bogus: 1}\n')
    assert [i.rule_id for i in e.issues] == ["a", "b"]
    assert str(e).count("\n") == 1


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert "cannot read policy" in str(info.value)


def test_version_is_content_hash(write: Write) -> None:
    body = HEAD + '  - {id: a, when: "true", tier: high}\n'
    v1 = load_policy(write("p.yaml", body)).version
    assert v1.startswith("sha256:") and len(v1) == 7 + 64
    assert load_policy(write("p.yaml", body)).version == v1
    assert load_policy(write("p.yaml", body + "# changed\n")).version != v1


def test_directory_merge_and_duplicates(tmp_path: Path) -> None:
    d = tmp_path / "pol"
    d.mkdir()
    (d / "00-base.yaml").write_text("version: 1\ndefault_tier: medium\ntiers:\n"
                                    "  medium: {mode: allow_and_review}\n")
    (d / "10-pay.yml").write_text('version: 1\nrules:\n  - {id: pay, when: "action.kind == '
                                  "'pay'\", tier: critical}\n")
    (d / "notes.txt").write_text("ignored")
    (d / "x_cases.yaml").write_text("not: a policy")
    p = load_policy(d)
    assert p.rule_ids == ("pay",) and p.document.default_tier.value == "medium"
    (d / "20-dup.yaml").write_text('version: 1\ndefault_tier: low\nrules:\n'
                                   '  - {id: pay, when: "true", tier: low}\n')
    with pytest.raises(PolicyError) as info:
        load_policy(d)
    found = {(Path(i.file).name, i.rule_id, i.line) for i in info.value.issues}
    assert ("20-dup.yaml", "pay", 4) in found
    assert any("default_tier is already set" in i.message for i in info.value.issues)


def test_unquoted_boolean_when(write: Write) -> None:
    e = errors(write, HEAD + "  - {id: a, when: true, tier: high}\n")
    assert e.rule_id == "a" and 'quote it: when: "true"' in e.hint


def test_written_tier_says_everything_unlisted_keeps_defaults(write: Write) -> None:
    p = load_policy(write("p.yaml", "version: 1\ntiers:\n  high: {mode: require_approval}\n"))
    high = p.document.tiers[Tier.HIGH].requirements
    assert (high.approvals, high.min_review_seconds, high.rationale_required) == (1, 0, False)
    critical = p.document.tiers[Tier.CRITICAL].requirements
    assert critical.approvals == 2 and critical.rationale_required
    assert p.document.default_tier == Tier.HIGH


def test_tier_require_factors(write: Write) -> None:
    p = load_policy(write("p.yaml", "version: 1\ntiers:\n  critical:\n"
                          "    mode: require_approval\n    require: [{from: owner}, "
                          "{from: [group:sec, user:a@b.io], count: 2}]\n"))
    factors = p.document.tiers[Tier.CRITICAL].requirements.factors
    assert [(f.approvers, f.count) for f in factors] == [
        (("owner",), 1), (("group:sec", "user:a@b.io"), 2)]


def test_policy_error_round_trips_through_a_problem_body(write: Write) -> None:
    e = errors(write, HEAD + '  - {id: a, when: "true", tier: nope}\n')
    body = e.to_problem()
    assert body["code"] == "policy_error" and body["status"] == 500
    extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail",
                                                          "code")}
    again = PolicyError(body["detail"], **extra)
    assert again.issues == e.issues and again.rule_id == "a" and str(again) == str(e)
