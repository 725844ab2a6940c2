"""The CEL policy engine of SPEC section 4.

Wiring (composition root)::

    holder = PolicyHolder.from_paths(settings.policy, settings.policy_shadow)  # PolicyError: refuse
    services = build(..., policy=holder)          # the holder is itself a PolicyEvaluator
    holder.reload()                               # SIGHUP / POST /v1/policy/reload -> ReloadResult

``load_policy(path)`` builds one :class:`CelPolicy` from a file or a directory of YAML files;
``default_policy_path()`` is the shipped default.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .cases import CaseResult, PolicyCase, load_cases, policy_input, run_cases
from .cel_engine import CelPolicy, RuleOutcome, load_policy
from .errors import PolicyError, PolicyIssue
from .holder import PolicyHolder, ReloadResult, ShadowOutcome, decision_differences

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


def default_policy_path() -> Path:
    """The shipped default policy (package data)."""
    return Path(str(files("signoff") / "policy" / "default.yaml"))


def default_cases_path() -> Path:
    """The shipped default policy's test cases."""
    return Path(str(files("signoff") / "policy" / "default_cases.yaml"))
