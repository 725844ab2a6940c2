"""Most restrictive wins: how a tier's requirements and the matched rules' additions combine.

Pure functions, no CEL, so the semantics can be read and tested on their own:

* numbers: more approvals, longer ``min_review_seconds``, larger ``post_review_sample``,
  shorter ``expires_in``, ``escalate_after`` and ``grant_ttl``; ``rationale_required`` is OR-ed.
* approvers: the required total is the largest of the tier's approvals and any rule's
  ``approvals``. A tier written with ``require`` keeps its factors (an invariant of that tier);
  factors that rules name are added, the same pool named twice keeps the larger count, and a rule's
  ``approvers`` without ``approvals`` asks for the required total from that pool (so
  ``tier: critical`` + ``approvers: [group:finance-leads]`` means two finance leads). When nobody
  named a pool the tier's pool is used. When the named factors add up to fewer approvals than the
  required total, the shortfall is asked from the tier's pool, so no rule can lower the bar.
  Every factor needs distinct humans: one person never satisfies two factors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from signoff.domain.policy import DEFAULT_APPROVERS, QuorumFactor, Requirements

from .schema import RuleOverrides, TierSpec

__all__ = ["merge_requirements"]


def _min_opt(a: int | None, b: int | None) -> int | None:
    """Shorter wins; None means "never" and so loses to any number."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _tier_pool(spec: TierSpec) -> tuple[str, ...]:
    if not spec.explicit_factors and len(spec.requirements.factors) == 1:
        return spec.requirements.factors[0].approvers
    return DEFAULT_APPROVERS


def _merge_factors(spec: TierSpec, rules: list[RuleOverrides]) -> tuple[QuorumFactor, ...]:
    base = spec.requirements
    total = max([base.approvals, *(r.approvals for r in rules if r.approvals is not None)])
    pools: dict[tuple[str, ...], int] = {}
    if spec.explicit_factors:
        for f in base.factors:
            pools[f.approvers] = max(pools.get(f.approvers, 0), f.count)
    for r in rules:
        for f in r.factor_list(total):
            pools[f.approvers] = max(pools.get(f.approvers, 0), f.count)
    if not pools:
        return (QuorumFactor(_tier_pool(spec), total),)
    named = sum(pools.values())
    if named < total:
        pool = _tier_pool(spec)
        pools[pool] = pools.get(pool, 0) + (total - named)
    return tuple(QuorumFactor(pool, count) for pool, count in pools.items())


def merge_requirements(spec: TierSpec, rules: Iterable[RuleOverrides]) -> Requirements:
    """The tier's requirements tightened by every matched rule's overrides."""
    rules = list(rules)
    req = spec.requirements
    if not rules:
        return req
    min_review = max([req.min_review_seconds,
                      *(r.min_review_seconds for r in rules if r.min_review_seconds is not None)])
    sample = max([req.post_review_sample,
                  *(r.post_review_sample for r in rules if r.post_review_sample is not None)])
    rationale = req.rationale_required or any(r.rationale_required for r in rules)
    expires = min([req.expires_in, *(r.expires_in for r in rules if r.expires_in is not None)])
    grant_ttl = min([req.grant_ttl, *(r.grant_ttl for r in rules if r.grant_ttl is not None)])
    escalate = req.escalate_after
    for r in rules:
        escalate = _min_opt(escalate, r.escalate_after)
    return replace(
        req, factors=_merge_factors(spec, rules), min_review_seconds=min_review,
        rationale_required=rationale, expires_in=expires, escalate_after=escalate,
        post_review_sample=sample, grant_ttl=grant_ttl,
    )
