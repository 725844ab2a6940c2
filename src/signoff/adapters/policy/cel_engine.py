"""``CelPolicy``: the SPEC section 4 policy engine behind the ``PolicyEvaluator`` protocol.

One decision builds one CEL context (only the fields the policy reads) and runs every compiled
rule on it. Semantics: any matched ``deny`` denies; otherwise the highest matched tier applies
(``default_tier`` when nothing matched) and requirements are the tier's, tightened by every
matched rule (:mod:`.merge`). A rule whose expression fails at run time (a missing key without
``has()``, a type clash on this input) counts as matched at ``critical``, with the error in its
reason: an error never lets an action through.

Instances are immutable after construction and share nothing per decision, so one instance is
safe across threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cel

from signoff.domain.policy import Decision, Mode, PolicyInput, Reason, Tier

from .compiler import WHOLE, CompiledRule, PathTree, compile_rule, merge_paths
from .errors import PolicyError
from .flatten import FlatPlan, flat_variables, plan_rewrite, readable
from .loader import parse_sources, policy_sources
from .merge import merge_requirements
from .schema import PolicyDocument

__all__ = ["CelPolicy", "RuleOutcome", "load_policy"]

_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A rule's result for one action: ``matched``, ``error`` (counted as matched), ``false``."""

    rule_id: str
    status: str
    detail: str = ""


def _project(value: Any, tree: PathTree) -> Any:
    if tree is WHOLE or not isinstance(value, dict):
        return value
    return {k: _project(value[k], sub) for k, sub in tree.items() if k in value}


def _sanitize(value: Any) -> Any:
    """Plain CEL-convertible data: the fallback when an input holds unusual Python types."""
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_sanitize(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, bool | int | float | str | bytes | datetime) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class CelPolicy:
    """A loaded, compiled policy. Build with :func:`load_policy` or :meth:`from_sources`."""

    def __init__(self, document: PolicyDocument, rules: list[CompiledRule], *,
                 flatten: bool = True) -> None:
        self.document = document
        self._rules = tuple(rules)
        self._paths = merge_paths([r.paths for r in rules])
        used = {v for r in rules for v in r.program.variables()}
        self._scalars = tuple(v for v in ("requester", "now") if v in used)
        self._cache: dict[tuple[str, ...], Decision] = {}
        self._plan = FlatPlan()
        self._fast: tuple[Any, ...] | None = None
        try:
            if flatten:
                self._fast = tuple(cel.compile(plan_rewrite(r.spec.when, self._paths, self._plan))
                                   for r in rules)
        except Exception:  # a shape the rewrite does not handle: use the nested context
            self._fast = None
        programs = self._fast or tuple(r.program for r in rules)
        self._steps = tuple((r.guard, p, r) for r, p in zip(rules, programs, strict=True))

    @classmethod
    def from_sources(cls, sources: list[tuple[str, bytes]], *, flatten: bool = True) -> CelPolicy:
        """Parse, validate and compile (name, bytes) files; raises :class:`PolicyError`."""
        doc, errors = parse_sources(sources)
        compiled: list[CompiledRule] = []
        for rule in doc.rules:
            c, errs = compile_rule(rule)
            errors.extend(errs)
            if c is not None:
                compiled.append(c)
        if errors:
            order = {name: i for i, (name, _) in enumerate(sources)}
            raise PolicyError(sorted(errors, key=lambda i: (order.get(i.file, -1), i.line,
                                                            i.column)))
        return cls(doc, compiled, flatten=flatten)

    @classmethod
    def from_text(cls, text: str, name: str = "policy.yaml") -> CelPolicy:
        return cls.from_sources([(name, text.encode())])

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.spec.id for r in self._rules)

    def directory_approvers(self) -> list[dict[str, Any]]:
        """Each ``user:``/``group:``/``role:`` approver the policy names, and where: the ones
        whose people only the directory knows (the server warns when they name nobody now)."""
        out: list[dict[str, Any]] = []

        def add(exprs: Any, rule_id: str | None, ref: Any) -> None:
            for expr in exprs:
                if expr.startswith(("user:", "group:", "role:")):
                    out.append({"expr": expr, "rule_id": rule_id, "file": ref.file,
                                "line": ref.line, "column": ref.column})
        for spec in self.document.tiers.values():
            if spec.ref is not None and spec.mode is Mode.REQUIRE_APPROVAL:
                for factor in spec.requirements.factors:
                    add(factor.approvers, None, spec.ref)
        for rule in self._rules:
            for pool, _count in rule.spec.overrides.factors:
                add(pool, rule.spec.id, rule.spec.ref)
        return out

    # -- context -----------------------------------------------------------------------------

    def variables(self, subject: PolicyInput, *, full: bool = False) -> dict[str, Any]:
        """The CEL variables for ``subject``: only the paths the rules read unless ``full``."""
        out: dict[str, Any] = {}
        if full or "requester" in self._scalars:
            out["requester"] = subject.requester
        if full or "now" in self._scalars:
            now = subject.now
            out["now"] = now if now.tzinfo else now.replace(tzinfo=UTC)
        for root in ("action", "agent", "workflow"):
            value = getattr(subject, root)
            if full:
                out[root] = value
            elif root in self._paths:
                out[root] = _project(value, self._paths[root])
        return out

    def _context(self, subject: PolicyInput, *, full: bool = False) -> Any:
        variables = self.variables(subject, full=full)
        try:
            return cel.Context(variables)
        except Exception:  # unusual Python types in params: convert them to plain data
            return cel.Context(_sanitize(variables))

    # -- evaluation --------------------------------------------------------------------------

    def _flat_context(self, subject: PolicyInput) -> Any:
        variables = flat_variables(
            {"action": subject.action, "agent": subject.agent, "workflow": subject.workflow},
            self._plan)
        if "requester" in self._scalars:
            variables["requester"] = subject.requester
        if "now" in self._scalars:
            now = subject.now
            variables["now"] = now if now.tzinfo else now.replace(tzinfo=UTC)
        try:
            return cel.Context(variables)
        except Exception:  # unusual Python types in params: convert them to plain data
            return cel.Context(_sanitize(variables))

    def _run(self, subject: PolicyInput) -> list[tuple[CompiledRule, str | None]]:
        """(rule, error) for every matched rule, in policy order; error None for a clean match."""
        ctx = self._flat_context(subject) if self._fast is not None else self._context(subject)
        raw_kind = subject.action.get("kind")
        kind: str = raw_kind if isinstance(raw_kind, str) else ""
        guarded = isinstance(raw_kind, str)  # a non-string kind: let CEL itself decide
        matched: list[tuple[CompiledRule, str | None]] = []
        for guard, program, rule in self._steps:
            if guard is not None and guarded and not guard(kind):
                continue
            try:
                result = program.execute(ctx)
            except Exception as exc:  # fail closed: the rule counts, at critical
                matched.append((rule, readable(_error_text(exc), self._plan)))
                continue
            if result is True:
                matched.append((rule, None))
            elif result is not False:
                matched.append((rule, f"returned {type(result).__name__}, not true/false"))
        return matched

    def decide(self, subject: PolicyInput) -> Decision:
        matched = self._run(subject)
        if any(err is not None for _, err in matched):
            return self._decision(matched)
        # Without errors the decision depends only on which rules matched: memoise it.
        key = tuple(r.spec.id for r, _ in matched)
        decision = self._cache.get(key)
        if decision is None:
            decision = self._decision(matched)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = decision
        return decision

    def _decision(self, matched: list[tuple[CompiledRule, str | None]]) -> Decision:
        doc = self.document
        reasons: list[Reason] = []
        denies: list[Reason] = []
        tier: Tier | None = None
        overrides = []
        for rule, error in matched:
            spec = rule.spec
            spec_tier: Tier | None
            if error is not None:
                spec_tier = Tier.CRITICAL
                reasons.append(Reason(spec.id, f"rule failed to evaluate: {error}; "
                                               "counted as matched at critical"))
            elif spec.deny is not None:
                denies.append(Reason(spec.id, spec.deny))
                continue
            else:
                spec_tier = spec.tier
                overrides.append(spec.overrides)
                reasons.append(Reason(spec.id, spec.description or f"tier {spec_tier}"))
            if spec_tier is not None and (tier is None or spec_tier.rank > tier.rank):
                tier = spec_tier
        if tier is None:
            tier = doc.default_tier
            if not denies:
                reasons.append(Reason("default_tier", f"no rule matched: default tier {tier}"))
        tier_spec = doc.tiers[tier]
        mode = tier_spec.mode
        if denies:
            tier, mode = Tier.CRITICAL, Mode.DENY
            tier_spec = doc.tiers[tier]
        return Decision(
            tier=tier, mode=mode, reasons=(*denies, *reasons),
            requirements=merge_requirements(tier_spec, overrides),
            policy_version=doc.version,
            matched_rules=tuple(r.spec.id for r, _ in matched),
        )

    # -- explain -----------------------------------------------------------------------------

    def explain(self, subject: PolicyInput) -> tuple[Decision, list[RuleOutcome]]:
        """The decision plus, for every rule, whether it matched and if not, why not."""
        matched = {r.spec.id: err for r, err in self._run(subject)}
        ctx = self._context(subject, full=True)
        kind = subject.action.get("kind")
        outcomes: list[RuleOutcome] = []
        for rule in self._rules:
            rid = rule.spec.id
            if rid in matched:
                err = matched[rid]
                what = f"deny: {rule.spec.deny}" if rule.spec.deny else f"tier {rule.spec.tier}"
                outcomes.append(RuleOutcome(rid, "error" if err else "matched",
                                            f"error: {err} (counted as critical)" if err else what))
            elif rule.guard is not None and isinstance(kind, str) and not rule.guard(kind):
                outcomes.append(RuleOutcome(rid, "false", f"{rule.guard_text} is false "
                                                          f"(action.kind is {kind!r})"))
            else:
                outcomes.append(RuleOutcome(rid, "false", _why_false(rule, ctx)))
        return self._decision(self._run(subject)), outcomes


def _why_false(rule: CompiledRule, ctx: Any) -> str:
    if len(rule.conjuncts) < 2:
        return "the condition evaluated to false"
    if not rule.conjunct_programs:
        rule.conjunct_programs = [cel.compile(c) for c in rule.conjuncts]
    for text, program in zip(rule.conjuncts, rule.conjunct_programs, strict=True):
        try:
            if program.execute(ctx) is False:
                return f"{text} is false"
        except Exception as exc:  # reported, not raised: explain is a read-only view
            return f"{text} could not be evaluated ({_error_text(exc)})"
    return "the condition evaluated to false"


def _error_text(exc: Exception) -> str:
    text = str(exc).split(". ")[0].strip()
    if isinstance(exc, KeyError):
        return f"no such key: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_policy(path: str | Path, *, flatten: bool = True) -> CelPolicy:
    """The policy at ``path`` (a file or a directory of YAML files); raises PolicyError.

    ``flatten=False`` evaluates on the nested (projected) context instead of flat variables:
    slower, and kept as the reference the flat rewrite is tested against."""
    return CelPolicy.from_sources(policy_sources(path), flatten=flatten)
