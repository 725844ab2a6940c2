"""Helpers for the policy tests: build policies and inputs."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from signoff.adapters.policy import CelPolicy, policy_input
from signoff.domain.policy import PolicyInput

TIERS = """
version: 1
default_tier: high
tiers:
  low:      {mode: allow, post_review_sample: 0.02}
  medium:   {mode: allow_and_review}
  high:     {mode: require_approval, approvals: 1, min_review_seconds: 15,
             rationale_required: true, escalate_after: 30m, expires_in: 4h}
  critical: {mode: require_approval, approvals: 2, min_review_seconds: 30,
             rationale_required: true, escalate_after: 15m, expires_in: 1h}
"""


def policy(rules: str, header: str = TIERS) -> CelPolicy:
    """A CelPolicy from the standard tiers plus ``rules`` (YAML list items, dedented)."""
    return CelPolicy.from_text(textwrap.dedent(header) + "rules:\n"
                               + textwrap.indent(textwrap.dedent(rules), "  "))


def subject(kind: str = "x.y", **action: Any) -> PolicyInput:
    return policy_input({"action": {"kind": kind, **action},
                         "now": datetime(2026, 1, 5, 10, tzinfo=UTC)})
