"""What the action page says an approval will do, and the dashboard's chart labels."""

from __future__ import annotations

from typing import Any

from signoff.services.console import approval_effect
from signoff.web.charts import stacked_bars


def _record(factors: list[dict[str, Any]], approved: list[str], *, tier: str = "high",
            agent_owner: str = "ash") -> dict[str, Any]:
    return {"eligible": factors, "tier": tier, "agent_owner_id": agent_owner,
            "reviews": [{"reviewer_id": r, "stage": "pre", "verdict": "approve"}
                        for r in approved]}


def test_the_last_needed_approval_meets_the_quorum() -> None:
    effect = approval_effect(_record([{"label": "any", "pool": ["rita", "sid"], "count": 2}],
                                     ["rita"]), "sid")
    assert effect == {"meets": True, "short_by": 0, "counts": True}


def test_an_approval_that_fills_no_open_slot_is_said_to_leave_the_quorum_short() -> None:
    # One slot for the owner, one for security; rita (owner pool only) already filled hers.
    factors = [{"label": "owner", "pool": ["rita", "olivia"], "count": 1},
               {"label": "security", "pool": ["sid"], "count": 1}]
    effect = approval_effect(_record(factors, ["rita"]), "olivia")
    assert effect == {"meets": False, "short_by": 1, "counts": False}
    assert approval_effect(_record(factors, ["rita"]), "sid")["meets"]


def test_at_critical_the_agents_owner_alone_never_meets_it() -> None:
    factors = [{"label": "any", "pool": ["ash", "sid"], "count": 1}]
    alone = approval_effect(_record(factors, [], tier="critical"), "ash")
    assert alone == {"meets": False, "short_by": 1, "counts": False}
    assert approval_effect(_record(factors, [], tier="critical"), "sid")["meets"]


def test_a_chart_label_that_does_not_fit_says_so_and_keeps_the_whole_name() -> None:
    name = "reviewer-with-a-very-long-address@example.com · prod-deploys"
    chart = stacked_bars([(name, {"median": 3}), ("short", {"median": 0})], ["median"],
                         label_width=160)
    shown, full = chart.labels[0][2], chart.labels[0][3]
    assert shown.endswith("…") and len(shown) < len(name) and full == name
    assert chart.labels[2][2:] == ("short", "short")
    assert not chart.empty
    assert stacked_bars([("idle", {"median": 0})], ["median"]).empty
