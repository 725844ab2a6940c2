"""Policy test cases: actions with the decision a reviewer expects, run like unit tests.

A cases file is what makes a policy change reviewable: the diff shows both the rule and the
actions whose outcome it changes. Format::

    version: 1
    defaults: {agent: {...}, workflow: {...}, now: "2026-01-05T10:00:00Z"}   # optional
    cases:
      - name: large payment needs two finance leads
        action: {kind: payments.send, params: {amount: 5000}}
        expect: {mode: require_approval, tier: critical, rules: [large-payments], approvals: 2}

``expect.rules`` is the exact set of matched rule ids (``[]`` for "nothing matched"); every
``expect`` key is optional. The same input shape (``action`` plus optional ``agent``,
``workflow``, ``requester``, ``now``, or a bare action) is what ``policy explain`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signoff.domain.policy import Decision, Mode, PolicyEvaluator, PolicyInput, Tier

from .errors import PolicyError, PolicyIssue
from .yamlnodes import MappingNode, SequenceNode, compose, mapping_items, plain, position

__all__ = ["CaseResult", "PolicyCase", "load_cases", "policy_input", "run_cases"]

_INPUT_KEYS = ("action", "agent", "workflow", "requester", "now")
_EXPECT_KEYS = ("mode", "tier", "rules", "approvals")
_ACTION_DEFAULTS: dict[str, Any] = {
    "workflow": "", "kind": "", "target": "", "params": {}, "summary": "",
    "impact": {"reversible": True, "external": False}, "chain_depth": 0,
}


def policy_input(data: dict[str, Any], defaults: dict[str, Any] | None = None) -> PolicyInput:
    """A PolicyInput from plain data; a dict without ``action`` is taken as the action itself."""
    if "action" not in data:
        data = {"action": data}
    merged = {**(defaults or {}), **data}
    given = merged.get("action") or {}
    action = {**_ACTION_DEFAULTS, **given}
    action["impact"] = {**_ACTION_DEFAULTS["impact"], **(action.get("impact") or {})}
    if "chain_depth" not in given and isinstance(given.get("chain"), list):
        # An action as an agent posts it carries its chain; the server derives the depth.
        action["chain_depth"] = len(given["chain"])
    agent = {"id": "", "name": "", "owner": "", "labels": {}, **(merged.get("agent") or {})}
    workflow = {"name": action.get("workflow", ""), "owner": "", "labels": {},
                **(merged.get("workflow") or {})}
    now = merged.get("now")
    if isinstance(now, str):
        now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    if not isinstance(now, datetime):
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return PolicyInput(action=action, agent=agent, workflow=workflow,
                       requester=merged.get("requester"), now=now)


@dataclass(frozen=True, slots=True)
class PolicyCase:
    name: str
    input: PolicyInput
    expect: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(path: str | Path) -> list[PolicyCase]:
    """The cases of a cases file; raises :class:`PolicyError` with positions when malformed."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([PolicyIssue(file, f"cannot read cases file: {exc}")]) from exc
    root, issues = compose(file, text)
    if root is None:
        raise PolicyError(issues)

    def fail(node: Any, message: str, hint: str = "") -> PolicyError:
        line, col = position(node)
        return PolicyError([PolicyIssue(file, message, line, col, hint=hint)])

    if not isinstance(root, MappingNode):
        raise fail(root, "a cases file must be a mapping", "write 'version: 1' and 'cases:'")
    top = {k: v for k, _, v in mapping_items(root)}
    for key, knode, _ in mapping_items(root):
        if key not in ("version", "defaults", "cases"):
            raise fail(knode, f"unknown key {key!r}", "allowed: version, defaults, cases")
    if "version" not in top or plain(top["version"]) != 1:
        raise fail(root, "missing 'version: 1'", "add 'version: 1'")
    defaults = plain(top["defaults"]) if "defaults" in top else {}
    cases_node = top.get("cases")
    if not isinstance(cases_node, SequenceNode) or not cases_node.value:
        raise fail(cases_node or root, "'cases' must be a non-empty list")
    out = []
    for i, node in enumerate(cases_node.value, 1):
        if not isinstance(node, MappingNode):
            raise fail(node, "a case must be a mapping with action and expect")
        for key, knode, _ in mapping_items(node):
            if key not in ("name", "expect", *_INPUT_KEYS):
                raise fail(knode, f"unknown key {key!r} in case",
                           "allowed: name, action, agent, workflow, requester, now, expect")
        data = plain(node)
        expect = data.pop("expect", None)
        name = str(data.pop("name", f"case {i}"))
        if "action" not in data or not isinstance(expect, dict) or not expect:
            raise fail(node, f"case {name!r} needs an action and an expect mapping")
        unknown = set(expect) - set(_EXPECT_KEYS)
        if unknown:
            raise fail(node, f"unknown expect key {sorted(unknown)[0]!r} in case {name!r}",
                       "allowed: mode, tier, rules, approvals")
        problem = _expect_problem(expect)
        if problem:  # a typo in an expectation would otherwise read as a policy failure
            raise fail(node, f"case {name!r}: {problem}")
        out.append(PolicyCase(name, policy_input(data, defaults), expect, position(node)[0]))
    return out


def _expect_problem(expect: dict[str, Any]) -> str | None:
    if "mode" in expect and expect["mode"] not in {m.value for m in Mode}:
        return (f"expect.mode {expect['mode']!r} is not a mode; use one of "
                f"{', '.join(m.value for m in Mode)}")
    if "tier" in expect and expect["tier"] not in {t.value for t in Tier}:
        return (f"expect.tier {expect['tier']!r} is not a tier; use one of "
                f"{', '.join(t.value for t in Tier)}")
    rules = expect.get("rules", [])
    if rules is not None and (not isinstance(rules, list)
                              or not all(isinstance(r, str) for r in rules)):
        return "expect.rules must be a list of rule ids ([] for none)"
    approvals = expect.get("approvals", 0)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or approvals < 0:
        return "expect.approvals must be a whole number"
    return None


def check_case(case: PolicyCase, decision: Decision) -> tuple[str, ...]:
    """What differs between the expectation and the decision."""
    exp, failures = case.expect, []
    if "mode" in exp and str(exp["mode"]) != decision.mode.value:
        failures.append(f"mode {decision.mode.value}, expected {exp['mode']}")
    if "tier" in exp and str(exp["tier"]) != decision.tier.value:
        failures.append(f"tier {decision.tier.value}, expected {exp['tier']}")
    if "rules" in exp and sorted(exp["rules"] or []) != sorted(decision.matched_rules):
        failures.append(f"rules {sorted(decision.matched_rules)}, expected "
                        f"{sorted(exp['rules'] or [])}")
    if "approvals" in exp and exp["approvals"] != decision.requirements.approvals:
        failures.append(f"approvals {decision.requirements.approvals}, "
                        f"expected {exp['approvals']}")
    return tuple(failures)


def run_cases(policy: PolicyEvaluator, cases: list[PolicyCase]) -> list[CaseResult]:
    results = []
    for case in cases:
        decision = policy.decide(case.input)
        results.append(CaseResult(case, decision, check_case(case, decision)))
    return results
