"""Load-time checks beyond the syntax: quorums nobody can meet, comparisons that are never true,
error positions inside multi-line expressions, and the version of a one-file policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from signoff.adapters.policy import PolicyError, PolicyIssue, load_policy

Write = Callable[[str, str], Path]
RULES = 'version: 1\nrules:\n  - id: a\n    when: "true"\n'


def refused(write: Write, body: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(write("p.yaml", body))
    return info.value


@pytest.mark.parametrize("body", [
    RULES + "    tier: high\n    approvers: [owner]\n    approvals: 2\n",
    RULES + "    tier: high\n    approvers: [owner, user:ana@example.com]\n    approvals: 3\n",
    RULES + "    tier: critical\n    approvers: [owner]\n",       # critical asks for two
    RULES + '    tier: high\n    require: [{from: "user:ana@example.com", count: 2}]\n',
    "version: 1\ntiers:\n  critical: {mode: require_approval, approvals: 1, "
    "approvers: [agent_owner]}\n",
    "version: 1\ntiers:\n  high: {mode: require_approval, approvals: 2, approvers: [owner]}\n",
])
def test_a_quorum_no_one_could_ever_meet_is_refused(write: Write, body: str) -> None:
    e = refused(write, body)
    assert "no one could ever approve" in e.issues[0].message
    assert e.line > 0 and "one person" in e.issues[0].message and "role:admin" in e.hint


@pytest.mark.parametrize("approvers", [
    "require: [{from: owner, count: 1}, {from: \"group:security\", count: 1}]",
    "require: [{from: agent_owner, count: 1}, {from: \"role:admin\", count: 1}]",
    "approvers: [owner, backup]\n    approvals: 2",
    "approvers: [owner, agent_owner]\n    approvals: 2",
])
def test_quorums_some_people_could_meet_load(write: Write, approvers: str) -> None:
    assert load_policy(write("p.yaml", RULES + f"    tier: high\n    {approvers}\n")).rule_ids \
        == ("a",)


def test_the_same_pool_twice_in_require_is_an_error(write: Write) -> None:
    e = refused(write, RULES + "    tier: high\n    require: [{from: owner, count: 1}, "
                              "{from: owner, count: 1}]\n")
    assert "appears twice" in e.issues[0].message and "larger count" in e.hint


@pytest.mark.parametrize(("approver", "says"), [
    ("role:boss", "role:admin"), ("bob@example.com", "user:bob@example.com")])
def test_approver_mistakes_say_what_to_write(write: Write, approver: str, says: str) -> None:
    e = refused(write, RULES + f'    tier: high\n    approvers: ["{approver}"]\n')
    assert says in e.issues[0].message and (e.line, e.column) == (6, 17)


@pytest.mark.parametrize(("when", "field"), [
    ('action.chain_depth == "3"', "action.chain_depth is an int"),
    ('action.impact.external == "true"', "action.impact.external is a bool"),
    ("action.kind != 3", "action.kind is a string"),
    ('"prod" == agent.labels.env && 2 == action.target', "action.target is a string"),
])
def test_comparisons_that_can_never_be_true_are_type_errors(write: Write, when: str,
                                                            field: str) -> None:
    e = refused(write, f"version: 1\nrules:\n  - id: a\n    when: '{when}'\n    tier: high\n")
    assert "CEL type error" in e.issues[0].message and field in e.issues[0].message
    assert e.rule_id == "a" and e.line == 4


def test_like_with_like_and_agent_json_are_not_type_errors(write: Write) -> None:
    when = ('action.chain_depth == 3 && action.impact.external == true && action.kind == "a" '
            '&& action.params.amount == "3" && agent.labels.env == 1 '
            '&& action.target == "x.chain_depth == \\"3\\""')
    assert load_policy(write("p.yaml", f"version: 1\nrules:\n  - id: a\n    when: '{when}'\n"
                                       "    tier: high\n")).rule_ids == ("a",)


@pytest.mark.parametrize(("style", "line", "column"), [
    (">-", 6, 10),   # folded: the lines are joined with spaces in the value
    ("|", 6, 10),    # literal: newlines kept
])
def test_errors_in_multi_line_expressions_point_at_the_line(write: Write, style: str,
                                                            line: int, column: int) -> None:
    e = refused(write, f"version: 1\nrules:\n  - id: a\n    when: {style}\n"
                       '      action.kind.startsWith("x")\n'
                       '      && action.impact.external == "yes"\n    tier: high\n')
    assert (e.line, e.column) == (line, column)
    e = refused(write, f"version: 1\nrules:\n  - id: a\n    when: {style}\n"
                       '      action.kind.startsWith("x")\n      && action.kind ==== 3\n'
                       "    tier: high\n")
    assert (e.line, e.column) == (6, 24) and "syntax error" in e.issues[0].message


def test_an_issue_without_a_position_prints_none() -> None:
    assert PolicyIssue("gone.yaml", "cannot read policy").format() == \
        "gone.yaml: cannot read policy"
    assert PolicyIssue("p.yaml", "bad", 3, 5, "a").format() == "p.yaml:3:5: rule a: bad"


def test_one_file_policy_version_does_not_depend_on_its_name(write: Write) -> None:
    body = RULES + "    tier: high\n"
    assert load_policy(write("policy.yaml", body)).version == \
        load_policy(write("default.yaml", body)).version


@pytest.mark.parametrize(("body", "suggestion"), [
    ("version: 1\ntiers:\n  high: {mode: require_aproval}\n", "did you mean 'require_approval'?"),
    ("version: 1\ntiers:\n  high: {mode: allow, aprovals: 2}\n", "did you mean 'approvals'?"),
    (RULES + "    tier: hihg\n", "did you mean 'high'?"),
    (RULES + "    tier: high\n    approver: [owner]\n", "did you mean 'approvers'?"),
    ('version: 1\nrules:\n  - {id: a, when: "actoin.kind == \'x\'", tier: high}\n',
     "did you mean 'action'?"),
    ('version: 1\nrules:\n  - {id: a, when: "action.kind.startswith(\'x\')", tier: high}\n',
     "did you mean 'startsWith'?"),
])
def test_typos_get_a_did_you_mean(write: Write, body: str, suggestion: str) -> None:
    assert suggestion in refused(write, body).hint


def test_a_duplicate_id_is_reported_even_when_one_of_the_rules_is_broken(write: Write) -> None:
    e = refused(write, 'version: 1\nrules:\n  - {id: a, when: "true", tier: high}\n'
                       '  - {id: a, when: "true", tier: hgh}\n')
    messages = [i.message for i in e.issues]
    assert "duplicate rule id 'a' (first at" in " ".join(messages)
    assert any("unknown tier 'hgh'" in m for m in messages)
