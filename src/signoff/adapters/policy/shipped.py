"""Where the shipped default policy and its test cases live (package data).

The default policy is what signoff enforces when ``SIGNOFF_POLICY`` is not set, what
``signoff policy init`` writes and what ``signoff demo`` runs: one policy, one engine.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["default_cases_path", "default_policy_path", "is_shipped_default"]


def default_policy_path() -> Path:
    """The shipped default policy (package data)."""
    return Path(str(files("signoff") / "policy" / "default.yaml"))


def default_cases_path() -> Path:
    """The shipped default policy's test cases."""
    return Path(str(files("signoff") / "policy" / "default_cases.yaml"))


def is_shipped_default(path: str | Path | None) -> bool:
    """True when ``path`` is the packaged default file itself (not a copy someone may edit)."""
    if path is None:
        return False
    try:
        return Path(path).resolve() == default_policy_path().resolve()
    except OSError:  # an unresolvable path is certainly not the package's own file
        return False
