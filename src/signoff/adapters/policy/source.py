"""``HolderPolicySource``: the CEL policy holder seen through the services' ``PolicySource``.

It is the only policy source the server has: ``SIGNOFF_POLICY`` or, when that is not set, the
shipped default policy, both loaded and reloaded the same way. ``current`` is the holder itself
(it decides with whatever policy is active at that instant, so a reload between two decisions is
never half-seen). ``shadow_decide`` runs the shadow policy, if any, beside the enforced decision
and returns a compact record for the ``action.submitted`` event; the shadow enforces nothing and
its failures are data, never an outage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from signoff.domain.policy import Decision, PolicyEvaluator, PolicyInput

from .holder import PolicyHolder, ReloadResult, decision_differences
from .shipped import is_shipped_default

__all__ = ["HolderPolicySource", "shadow_record"]


def shadow_record(active: Decision, shadow: Decision) -> dict[str, Any]:
    differences = decision_differences(active, shadow)
    return {"version": shadow.policy_version, "tier": str(shadow.tier),
            "mode": str(shadow.mode), "matched_rules": list(shadow.matched_rules),
            "approvals": shadow.requirements.approvals, "differs": bool(differences),
            "differences": {k: list(v) for k, v in differences.items()}}


class HolderPolicySource:
    """PolicySource over a :class:`PolicyHolder` (reloadable, optional shadow)."""

    def __init__(self, holder: PolicyHolder) -> None:
        self.holder = holder

    @classmethod
    def from_paths(cls, path: str | Path, shadow_path: str | Path | None = None
                   ) -> HolderPolicySource:
        """Raises :class:`PolicyError` (a ConfigurationError): the server refuses to start."""
        return cls(PolicyHolder.from_paths(path, shadow_path))

    @property
    def current(self) -> PolicyEvaluator:
        return self.holder

    def shadow_decide(self, subject: Any, decision: Any) -> dict[str, Any] | None:
        shadow = self.holder.shadow
        if shadow is None or not isinstance(subject, PolicyInput):
            return None
        try:
            other = shadow.decide(subject)
        except Exception as exc:  # advisory only: a failing shadow never blocks a decision
            return {"version": getattr(shadow, "version", "?"), "differs": True,
                    "error": f"{type(exc).__name__}: {exc}", "differences": {}}
        return shadow_record(decision, other)

    def reload(self) -> ReloadResult:
        return self.holder.reload()

    def describe(self) -> dict[str, Any]:
        """Active and shadow versions, files and rule ids (``GET /v1/policy``).

        ``source`` is ``shipped_default`` when the active policy is the packaged default file
        (no ``SIGNOFF_POLICY``), ``file`` for the operator's own file or directory.
        """
        def one(policy: PolicyEvaluator | None, path: str | Path | None
                ) -> dict[str, Any] | None:
            if policy is None:
                return None
            directory = getattr(policy, "directory_approvers", None)
            return {"version": policy.version, "path": str(path) if path is not None else None,
                    "rule_ids": list(getattr(policy, "rule_ids", []) or []),
                    "directory_approvers": directory() if directory else []}
        holder = self.holder
        return {"source": "shipped_default" if is_shipped_default(holder.path) else "file",
                "active": one(holder.active, holder.path),
                "shadow": one(holder.shadow, holder.shadow_path)}
