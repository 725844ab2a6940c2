"""Load a policy from a file or a directory of ``*.yaml``/``*.yml`` files, strictly.

Strict because a typo in a policy is a security bug: an unknown key, a misspelled tier or a rule
that can never name an approver would quietly let actions through or block them forever. Every
problem becomes a :class:`PolicyIssue` with file, rule id, line, column and a hint, and all of a
load's problems are reported together. CEL expressions are checked by :mod:`.compiler`.

Directory policies are merged in file-name order: each file says ``version: 1``; ``default_tier``
and each tier may be defined by one file only; rules are concatenated and their ids must be
unique across all files; ``*_cases.yaml`` files (policy tests) are skipped. Tiers nobody
defined keep the defaults of SPEC section 4 (``DEFAULT_TIERS``); a tier that is written gets
exactly what it says, unspecified fields taking the ``Requirements`` defaults (one approval).

The policy version is ``sha256:`` over the bytes of the file; for several files, over each one's
name, NUL, content, NUL in name order (the names decide the merge order). So the same policy gives
the same version wherever it lives and whatever its one file is called (``signoff policy init``
writes ``policy.yaml``, the shipped copy is ``default.yaml``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from signoff.domain.policy import DEFAULT_APPROVERS, Mode, QuorumFactor, Requirements, Tier

from .errors import PolicyError, PolicyIssue
from .feasibility import quorum_problem
from .merge import merge_requirements
from .schema import PolicyDocument, RuleSpec, SourceRef, TierSpec
from .values import ValueReader
from .yamlnodes import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose,
    mapping_items,
    position,
    source_map,
)

__all__ = ["DEFAULT_TIERS", "load_document", "parse_sources", "policy_sources", "policy_version"]

DEFAULT_TIERS: dict[Tier, TierSpec] = {
    Tier.LOW: TierSpec(Tier.LOW, Mode.ALLOW, Requirements(post_review_sample=0.02)),
    Tier.MEDIUM: TierSpec(Tier.MEDIUM, Mode.ALLOW_AND_REVIEW, Requirements(post_review_sample=1.0)),
    Tier.HIGH: TierSpec(Tier.HIGH, Mode.REQUIRE_APPROVAL, Requirements(
        min_review_seconds=15, rationale_required=True, escalate_after=1800, expires_in=4 * 3600)),
    Tier.CRITICAL: TierSpec(Tier.CRITICAL, Mode.REQUIRE_APPROVAL, Requirements(
        factors=(QuorumFactor(DEFAULT_APPROVERS, 2),), min_review_seconds=30,
        rationale_required=True, escalate_after=900, expires_in=3600, grant_ttl=120)),
}

_TOP_KEYS = ("version", "default_tier", "tiers", "rules")
_REQ_KEYS = ("approvals", "approvers", "require", "min_review_seconds", "rationale_required",
             "expires_in", "escalate_after", "post_review_sample", "grant_ttl")
_TIER_KEYS = ("mode", *_REQ_KEYS)
_RULE_KEYS = ("id", "when", "tier", "deny", "description", *_REQ_KEYS)
_APPROVER_KEYS = ("approvals", "approvers", "require")
_FEASIBLE_HINT = ("owner, agent_owner and user:EMAIL are one person each: lower the count, or "
                  "add a pool such as backup, reviewers, group:NAME or role:admin")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


def policy_sources(path: str | Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of the policy file, or of every ``*.yaml``/``*.yml`` in a directory."""
    p = Path(path)
    try:
        if p.is_dir():
            files = sorted(f for f in p.iterdir()
                           if f.suffix in (".yaml", ".yml") and f.is_file()
                           and not f.name.endswith(("_cases.yaml", "_cases.yml")))
            if not files:
                raise PolicyError([PolicyIssue(str(p), "no *.yaml or *.yml policy files here",
                                               hint="point SIGNOFF_POLICY at a policy file")])
            return [(str(f), f.read_bytes()) for f in files]
        return [(str(p), p.read_bytes())]
    except OSError as exc:
        raise PolicyError([PolicyIssue(str(p), f"cannot read policy: {exc.strerror or exc}",
                                       hint="check the path and its permissions")]) from exc


def policy_version(sources: list[tuple[str, bytes]]) -> str:
    if len(sources) == 1:
        return "sha256:" + hashlib.sha256(sources[0][1]).hexdigest()
    h = hashlib.sha256()
    for name, data in sorted(sources, key=lambda s: Path(s[0]).name):
        h.update(Path(name).name.encode() + b"\0" + data + b"\0")
    return "sha256:" + h.hexdigest()


class _FileParser:
    """Parses one file's nodes into tiers and rules, collecting issues."""

    def __init__(self, file: str, issues: list[PolicyIssue]) -> None:
        self.file = file
        self.issues = issues
        self.values = ValueReader(file, issues)
        self.default_tier: tuple[Tier, Node] | None = None
        self.tiers: dict[Tier, tuple[TierSpec, Node]] = {}
        self.rules: list[tuple[RuleSpec, MappingNode]] = []
        self.ids: list[tuple[str, MappingNode]] = []   # every rule's id, valid rule or not

    def err(self, node: Node, message: str, hint: str = "", rule: str | None = None) -> None:
        self.values.err(node, message, hint, rule)

    def parse(self, root: Node) -> None:
        if not isinstance(root, MappingNode):
            self.err(root, "a policy file must be a mapping",
                     "start with 'version: 1', then default_tier, tiers and rules")
            return
        items = self.values.keys(root, _TOP_KEYS, "policy file")
        if "version" not in items:
            self.err(root, "missing 'version: 1'", "add 'version: 1' at the top of the file")
        elif self.values.plain(items["version"][1]) != 1:
            self.err(items["version"][1], "unsupported policy version",
                     "this signoff reads 'version: 1'")
        if "default_tier" in items:
            tier = self.values.tier(items["default_tier"][1])
            if tier is not None:
                self.default_tier = (tier, items["default_tier"][0])
        if "tiers" in items:
            self._tiers(items["tiers"][1])
        if "rules" in items:
            self._rules(items["rules"][1])

    def _tiers(self, node: Node) -> None:
        if not isinstance(node, MappingNode):
            self.err(node, "'tiers' must be a mapping of tier name to settings",
                     "e.g. tiers: {high: {mode: require_approval, approvals: 1}}")
            return
        for _name, key_node, value in mapping_items(node):
            tier = self.values.tier(key_node)
            if tier is None:
                continue
            spec = self._tier(tier, value)
            if spec is not None:
                self.tiers[tier] = (spec, key_node)

    def _tier(self, tier: Tier, node: Node) -> TierSpec | None:
        if not isinstance(node, MappingNode):
            self.err(node, f"tier {tier} must be a mapping", "e.g. {mode: allow}")
            return None
        items = self.values.keys(node, _TIER_KEYS, f"tier {tier}")
        if "mode" in items:
            mode = self.values.mode(items["mode"][1])
        else:
            self.err(node, f"tier {tier} has no mode",
                     "add mode: allow, allow_and_review, require_approval or deny")
            mode = None
        if mode is None:
            return None
        ov = self.values.overrides(items, None, tier_level=True)
        if ov is None:
            return None
        req = Requirements()  # a tier that is written says everything it wants
        explicit = "require" in items
        count = ov.approvals if ov.approvals is not None else 1
        if ov.factors:
            factors = tuple(QuorumFactor(pool, count if c is None else c) for pool, c in ov.factors)
        else:
            factors = (QuorumFactor(DEFAULT_APPROVERS, count),)
        if mode == Mode.REQUIRE_APPROVAL and sum(f.count for f in factors) < 1:
            self.err(items.get("approvals", (node, node))[1],
                     f"tier {tier} requires approval but needs zero approvals, so no one can "
                     "ever approve it", "set approvals: 1 or more, or change the mode")
            return None
        problem = quorum_problem(tier, factors) if mode == Mode.REQUIRE_APPROVAL else None
        if problem:
            where = items.get("require") or items.get("approvers") or items.get("approvals")
            self.err((where or (node, node))[1], f"tier {tier}: {problem}", _FEASIBLE_HINT)
            return None
        req = Requirements(
            factors=factors,
            min_review_seconds=_pick(ov.min_review_seconds, req.min_review_seconds),
            rationale_required=_pick(ov.rationale_required, req.rationale_required),
            expires_in=_pick(ov.expires_in, req.expires_in),
            escalate_after=ov.escalate_after if "escalate_after" in items else req.escalate_after,
            post_review_sample=_pick(ov.post_review_sample, req.post_review_sample),
            grant_ttl=_pick(ov.grant_ttl, req.grant_ttl),
        )
        return TierSpec(tier, mode, req, explicit_factors=explicit,
                        ref=SourceRef(self.file, *position(node)))

    def _rules(self, node: Node) -> None:
        if not isinstance(node, SequenceNode):
            self.err(node, "'rules' must be a list", "write each rule as '- id: ...'")
            return
        for item in node.value:
            rule = self._rule(item)
            if rule is not None:
                self.rules.append((rule, item))

    def _rule(self, node: Node) -> RuleSpec | None:
        if not isinstance(node, MappingNode):
            self.err(node, "a rule must be a mapping",
                     "e.g. - {id: my-rule, when: ..., tier: high}")
            return None
        raw_id = dict((k, v) for k, _, v in mapping_items(node)).get("id")
        rid = self.values.plain(raw_id) if raw_id is not None else None
        rid = rid if isinstance(rid, str) else None
        items = self.values.keys(node, _RULE_KEYS, "rule", rule=rid)
        ok = True
        if rid is None or not _RULE_ID.match(rid):
            self.err(raw_id or node, "a rule needs an 'id' (letters, digits, . _ : / -)",
                     "add e.g. id: large-payments", rid)
            return None
        self.ids.append((rid, node))  # duplicates are reported even if this rule is broken
        when = self.values.plain(items["when"][1]) if "when" in items else None
        if isinstance(when, bool):
            self.err(items["when"][1], "'when' must be a CEL expression string",
                     f'quote it: when: "{str(when).lower()}"', rid)
            ok = False
        elif not isinstance(when, str) or not when.strip():
            self.err(items.get("when", (node, node))[1], "a rule needs a 'when' CEL expression",
                     'e.g. when: action.kind == "payments.send"', rid)
            ok = False
        tier = deny = None
        if ("tier" in items) == ("deny" in items):
            self.err(node, "a rule needs exactly one of 'tier' or 'deny'",
                     "give it tier: low|medium|high|critical, or deny: \"why\"", rid)
            ok = False
        elif "tier" in items:
            tier = self.values.tier(items["tier"][1], rid)
            ok = ok and tier is not None
        else:
            deny = self.values.plain(items["deny"][1])
            if not isinstance(deny, str) or not deny.strip():
                self.err(items["deny"][1], "'deny' must be the message shown to the agent",
                         'e.g. deny: "agents may not read production secrets"', rid)
                ok = False
            extra = [k for k in _REQ_KEYS if k in items]
            if extra:
                self.err(items[extra[0]][0], f"a deny rule cannot set {extra[0]}",
                         "remove it: denied actions never wait for approval", rid)
                ok = False
        description = self.values.plain(items["description"][1]) if "description" in items else ""
        ov = self.values.overrides(items, rid, tier_level=False)
        if ov is None or not ok or not isinstance(when, str):
            return None
        line, col = position(node)
        wl, wc = position(items["when"][1])
        return RuleSpec(
            id=rid, when=when, tier=tier, deny=deny, description=str(description or ""),
            overrides=ov, ref=SourceRef(self.file, line, col),
            when_ref=SourceRef(self.file, wl, wc),
            when_style=getattr(items["when"][1], "style", None),
            when_map=source_map(items["when"][1]) if isinstance(items["when"][1], ScalarNode)
            else (),
        )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def parse_sources(sources: list[tuple[str, bytes]]) -> tuple[PolicyDocument, list[PolicyIssue]]:
    """Parse and merge all files. The document holds what could be read even when there are
    issues (so CEL can still be checked and every problem reported at once); it is only
    usable when the issue list is empty."""
    issues: list[PolicyIssue] = []
    parsers: list[_FileParser] = []
    for name, data in sources:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            issues.append(PolicyIssue(name, f"not UTF-8 text: {exc.reason}", 1, 1))
            continue
        root, errs = compose(name, text)
        issues.extend(errs)
        if root is None:
            continue
        parser = _FileParser(name, issues)
        parser.parse(root)
        parsers.append(parser)
    default_tier, tiers, rules = _merge(parsers, issues)
    _check_rule_tiers(rules, tiers, issues)
    return PolicyDocument(
        version=policy_version(sources), default_tier=default_tier, tiers=tiers,
        rules=tuple(r for r, _ in rules), files=tuple(n for n, _ in sources),
    ), issues


def _merge(parsers: list[_FileParser], issues: list[PolicyIssue]) -> tuple[
        Tier, dict[Tier, TierSpec], list[tuple[RuleSpec, _FileParser]]]:
    default: tuple[Tier, str] | None = None
    tiers: dict[Tier, tuple[TierSpec, str]] = {}
    seen: dict[str, tuple[str, int]] = {}
    rules: list[tuple[RuleSpec, _FileParser]] = []
    for p in parsers:
        if p.default_tier is not None:
            if default is not None:
                p.err(p.default_tier[1], f"default_tier is already set in {default[1]}",
                      "set default_tier in one file only")
            else:
                default = (p.default_tier[0], p.file)
        for tier, (spec, node) in p.tiers.items():
            if tier in tiers:
                p.err(node, f"tier {tier} is already defined in {tiers[tier][1]}",
                      "define each tier in one file only")
            else:
                tiers[tier] = (spec, p.file)
        dupes: set[int] = set()
        for rid, node in p.ids:
            if rid in seen:
                file, line = seen[rid]
                p.err(node, f"duplicate rule id {rid!r} (first at {file}:{line})",
                      "give every rule a unique id", rid)
                dupes.add(id(node))
            else:
                seen[rid] = (p.file, position(node)[0])
        rules.extend((rule, p) for rule, node in p.rules if id(node) not in dupes)
    merged = {t: tiers[t][0] if t in tiers else DEFAULT_TIERS[t] for t in Tier}
    return (default[0] if default else Tier.HIGH), merged, rules


def _check_rule_tiers(rules: list[tuple[RuleSpec, _FileParser]], tiers: dict[Tier, TierSpec],
                      issues: list[PolicyIssue]) -> None:
    """Approver settings on a rule whose own tier never asks for approval are a mistake, and
    so is a rule whose quorum (its tier's, tightened by the rule) nobody could ever meet."""
    for rule, _p in rules:
        ov = rule.overrides
        if rule.tier is None:
            continue
        if tiers[rule.tier].mode == Mode.REQUIRE_APPROVAL:
            factors = merge_requirements(tiers[rule.tier], [ov]).factors
            problem = quorum_problem(rule.tier, factors)
            if problem:
                issues.append(PolicyIssue(rule.ref.file, problem, rule.ref.line,
                                          rule.ref.column, rule.id, _FEASIBLE_HINT))
            continue
        if ov.factors or ov.approvals is not None:
            issues.append(PolicyIssue(
                rule.ref.file, f"sets approvers but tier {rule.tier} has mode "
                f"{tiers[rule.tier].mode}, which never asks for approval",
                rule.ref.line, rule.ref.column, rule.id,
                "raise the rule's tier to one whose mode is require_approval"))


def load_document(path: str | Path) -> PolicyDocument:
    """Parse and validate (without CEL) the policy at ``path``; raises :class:`PolicyError`."""
    doc, issues = parse_sources(policy_sources(path))
    if issues:
        raise PolicyError(issues)
    return doc
