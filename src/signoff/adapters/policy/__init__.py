"""The CEL policy engine of SPEC section 4.

Wiring (composition root, :mod:`.wiring`)::

    source = policy_source(settings)  # SIGNOFF_POLICY or the shipped default; PolicyError: refuse
    source.current.decide(subject)    # the holder: whatever policy is active now
    source.reload()                   # SIGHUP / POST /v1/policy/reload -> ReloadResult

``load_policy(path)`` builds one :class:`CelPolicy` from a file or a directory of YAML files;
``default_policy_path()`` is the shipped default.
"""

from __future__ import annotations

from .cases import CaseResult, PolicyCase, load_cases, policy_input, run_cases
from .cel_engine import CelPolicy, RuleOutcome, load_policy
from .errors import PolicyError, PolicyIssue
from .holder import PolicyHolder, ReloadResult, ShadowOutcome, decision_differences
from .shipped import default_cases_path, default_policy_path

__all__ = [
    "CaseResult",
    "CelPolicy",
    "PolicyCase",
    "PolicyError",
    "PolicyHolder",
    "PolicyIssue",
    "ReloadResult",
    "RuleOutcome",
    "ShadowOutcome",
    "decision_differences",
    "default_cases_path",
    "default_policy_path",
    "load_cases",
    "load_policy",
    "policy_input",
    "run_cases",
]

