"""Which policy the composition root wires, from settings (or a holder handed in by tests)."""

from __future__ import annotations

from signoff.config import Settings

from .holder import PolicyHolder
from .shipped import default_policy_path
from .source import HolderPolicySource

__all__ = ["policy_source"]


def policy_source(settings: Settings, given: PolicyHolder | None = None) -> HolderPolicySource:
    """``SIGNOFF_POLICY`` or, when it is not set, the shipped default policy; plus
    ``SIGNOFF_POLICY_SHADOW`` beside either.

    The CEL engine is the only decision-maker, so a server without a policy of its own enforces
    exactly what ``signoff policy init`` writes and ``signoff policy test`` checks. A bad policy
    file raises :class:`PolicyError` (a ConfigurationError): nothing starts on it.
    """
    if given is not None:
        return HolderPolicySource(given)
    path = settings.policy if settings.policy is not None else default_policy_path()
    return HolderPolicySource.from_paths(path, settings.policy_shadow)
