"""The policy source used until a CEL policy is configured: the core's built-in tier table."""

from __future__ import annotations

from typing import Any

from signoff.domain.policy import BuiltinTierTable, PolicyEvaluator

__all__ = ["StaticPolicySource"]


class StaticPolicySource:
    def __init__(self, evaluator: PolicyEvaluator | None = None) -> None:
        self._evaluator = evaluator or BuiltinTierTable()

    @property
    def current(self) -> PolicyEvaluator:
        return self._evaluator

    def shadow_decide(self, subject: Any, decision: Any) -> dict[str, Any] | None:
        return None
