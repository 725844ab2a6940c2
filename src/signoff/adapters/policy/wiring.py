"""Which policy source the composition root wires, from settings (or one handed in by tests)."""

from __future__ import annotations

from typing import Any

from signoff.adapters.builtin_policy import StaticPolicySource
from signoff.config import Settings
from signoff.domain.policy import BuiltinTierTable

from .cel_engine import load_policy
from .holder import PolicyHolder
from .source import HolderPolicySource

__all__ = ["policy_source"]


def policy_source(settings: Settings, given: Any = None) -> Any:
    """``SIGNOFF_POLICY`` (and ``SIGNOFF_POLICY_SHADOW``) or the built-in tier table.

    A bad policy file raises :class:`PolicyError` (a ConfigurationError): nothing starts on it.
    A shadow policy may run beside the built-in table too, to try a first CEL policy on live
    traffic before switching to it.
    """
    if isinstance(given, PolicyHolder):
        return HolderPolicySource(given, path=settings.policy, shadow_path=settings.policy_shadow)
    if given is not None:
        return given
    if settings.policy is not None:
        return HolderPolicySource.from_paths(settings.policy, settings.policy_shadow)
    if settings.policy_shadow is not None:
        holder = PolicyHolder(BuiltinTierTable(), shadow=load_policy(settings.policy_shadow),
                              shadow_path=settings.policy_shadow)
        return HolderPolicySource(holder, shadow_path=settings.policy_shadow)
    return StaticPolicySource()
