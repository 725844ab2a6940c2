"""`signoff demo` seeds a workspace with work in every tier and tells a newcomer what to do."""

from __future__ import annotations

import re

import pytest

from signoff.adapters.policy import default_policy_path, load_policy
from tests.conftest import cli

pytestmark = pytest.mark.e2e


def test_demo_seeds_every_tier_and_is_safe_to_rerun(tmp_path) -> None:
    env = {"SIGNOFF_DATA_DIR": str(tmp_path / "demo")}
    out = cli("demo", "--no-serve", env=env).stdout
    outcomes = re.findall(r"-> (\w+)\s+\((\w+)\)", out)
    assert {tier for _, tier in outcomes} == {"low", "medium", "high", "critical"}
    assert {"pending", "allowed", "denied"} <= {status for status, _ in outcomes}
    assert "signoff-demo-password" in out and "/console" in out and "What to try" in out
    # no SIGNOFF_POLICY: the demo runs the shipped default and says which version
    assert f"Policy: shipped default version {load_policy(default_policy_path()).version}" in out
    tokens = (tmp_path / "demo" / "demo-agent-tokens.txt").read_text()
    assert tokens.count("so_agent_") == 2
    again = cli("demo", "--no-serve", env=env).stdout
    assert "->" not in again and "kept the existing key" in again
