"""Typed reading of policy values from YAML nodes, each failure becoming a located issue."""

from __future__ import annotations

import difflib
from typing import Any

from signoff.domain.policy import Mode, Tier

from .errors import PolicyIssue
from .schema import RuleOverrides, approver_problem, parse_duration
from .yamlnodes import MappingNode, Node, ScalarNode, SequenceNode, mapping_items, plain, position

__all__ = ["ValueReader"]

_TIERS = ", ".join(t.value for t in Tier)
_MODES = ", ".join(m.value for m in Mode)
Items = dict[str, tuple[Node, Node]]


def _did_you_mean(value: object, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class ValueReader:
    """Reads one file's values; every problem is appended to ``issues`` with its position."""

    def __init__(self, file: str, issues: list[PolicyIssue]) -> None:
        self.file = file
        self.issues = issues
        self.rule: str | None = None

    def err(self, node: Node, message: str, hint: str = "", rule: str | None = None) -> None:
        line, col = position(node)
        self.issues.append(PolicyIssue(self.file, message, line, col, rule or self.rule, hint))

    def plain(self, node: Node) -> Any:
        try:
            return plain(node)
        except ValueError as exc:
            self.err(node, f"unreadable value: {exc}")
            return None

    def keys(self, node: MappingNode, allowed: tuple[str, ...], what: str,
             rule: str | None = None) -> Items:
        """The mapping's entries by key; unknown and repeated keys are reported."""
        self.rule = rule
        out: Items = {}
        for key, knode, vnode in mapping_items(node):
            if key not in allowed:
                self.err(knode, f"unknown key {key!r} in {what}",
                         _did_you_mean(key, allowed) + f"allowed keys: {', '.join(allowed)}")
            elif key in out:
                self.err(knode, f"key {key!r} appears twice in {what}", "keep only one")
            else:
                out[key] = (knode, vnode)
        return out

    def tier(self, node: Node, rule: str | None = None) -> Tier | None:
        value = self.plain(node)
        try:
            return Tier(value)
        except ValueError:
            self.err(node, f"unknown tier {value!r}",
                     _did_you_mean(value, [t.value for t in Tier]) + f"use one of {_TIERS}", rule)
            return None

    def mode(self, node: Node) -> Mode | None:
        value = self.plain(node)
        try:
            return Mode(value)
        except ValueError:
            self.err(node, f"unknown mode {value!r}",
                     _did_you_mean(value, [m.value for m in Mode]) + f"use one of {_MODES}")
            return None

    def _int(self, node: Node, key: str, minimum: int) -> int | None:
        value = self.plain(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.err(node, f"{key} must be a whole number of at least {minimum}, not {value!r}",
                     f"e.g. {key}: {max(minimum, 1)}")
            return None
        return value

    def _duration(self, node: Node, key: str, allow_none: bool = False) -> int | None:
        value = self.plain(node)
        if value is None and allow_none:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.err(node, f"{key}: {exc}", "durations look like 15s, 30m, 4h, 1d or 1h30m")
            return None

    def approvers(self, node: Node) -> tuple[str, ...] | None:
        """A non-empty list of valid approver expressions (a single string is a list of one)."""
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        if isinstance(node, MappingNode) or not nodes:
            self.err(node, "approvers name nobody",
                     "list at least one of owner, backup, reviewers, agent_owner, user:EMAIL, "
                     "group:NAME, role:ROLE")
            return None
        out = []
        for n in nodes:
            value = self.plain(n) if isinstance(n, ScalarNode) else n
            problem = approver_problem(value)
            if problem:
                self.err(n, problem, "e.g. group:finance-leads, user:ana@example.com or role:admin")
                return None
            out.append(value)
        return tuple(out)

    def _require(self, node: Node) -> list[tuple[tuple[str, ...], int | None]] | None:
        if not isinstance(node, SequenceNode) or not node.value:
            self.err(node, "require must be a non-empty list of {from: ..., count: N}",
                     'e.g. require: [{from: owner, count: 1}, {from: "group:security", count: 1}]')
            return None
        out: list[tuple[tuple[str, ...], int | None]] = []
        for item in node.value:
            if not isinstance(item, MappingNode):
                self.err(item, "each require entry must be {from: ..., count: N}")
                return None
            entry = self.keys(item, ("from", "count"), "require entry", self.rule)
            if "from" not in entry:
                self.err(item, "require entry without 'from'", "add from: owner or group:NAME")
                return None
            pool = self.approvers(entry["from"][1])
            count = self._int(entry["count"][1], "count", 1) if "count" in entry else 1
            if pool is None or count is None:
                return None
            if any(p == pool for p, _ in out):
                # Two factors from one pool would merge into one: say what was meant instead.
                self.err(entry["from"][1], f"from: {', '.join(pool)} appears twice in require",
                         "use one entry with a larger count (distinct people from one pool)")
                return None
            out.append((pool, count))
        return out

    def overrides(self, items: Items, rule: str | None, *,
                  tier_level: bool) -> RuleOverrides | None:
        """The requirement keys of a tier or rule; None when any of them is invalid."""
        self.rule = rule
        before = len(self.issues)
        v: dict[str, Any] = {}
        if "approvals" in items:
            v["approvals"] = self._int(items["approvals"][1], "approvals", 0 if tier_level else 1)
        factors: list[tuple[tuple[str, ...], int | None]] = []
        if "approvers" in items and "require" in items:
            self.err(items["require"][0], "use either approvers or require, not both",
                     "require: [{from: ..., count: N}] can express both")
        elif "approvers" in items:
            pool = self.approvers(items["approvers"][1])
            if pool is not None:
                factors.append((pool, v.get("approvals")))
        elif "require" in items:
            factors.extend(self._require(items["require"][1]) or [])
        v["factors"] = tuple(factors)
        for key in ("min_review_seconds", "expires_in", "grant_ttl"):
            if key in items:
                v[key] = self._duration(items[key][1], key)
        if "escalate_after" in items:
            v["escalate_after"] = self._duration(items["escalate_after"][1], "escalate_after",
                                                 allow_none=True)
        if "rationale_required" in items:
            value = self.plain(items["rationale_required"][1])
            if not isinstance(value, bool):
                self.err(items["rationale_required"][1], "rationale_required must be true or false")
            v["rationale_required"] = value if isinstance(value, bool) else None
        if "post_review_sample" in items:
            value = self.plain(items["post_review_sample"][1])
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 <= value <= 1:
                self.err(items["post_review_sample"][1],
                         f"post_review_sample must be a fraction between 0 and 1, not {value!r}",
                         "e.g. post_review_sample: 0.05 reviews one action in twenty")
            else:
                v["post_review_sample"] = float(value)
        for key in ("expires_in", "grant_ttl"):
            if v.get(key) == 0:
                self.err(items[key][1], f"{key} must be longer than zero", f"e.g. {key}: 5m")
        if len(self.issues) > before:
            return None
        return RuleOverrides(**v)
