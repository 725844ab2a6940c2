"""Refuse, at load time, a quorum that no set of people could ever meet.

``owner``, ``agent_owner`` and ``user:EMAIL`` each name exactly one person, whoever holds the
role at decision time; ``backup``, ``reviewers``, ``group:NAME`` and ``role:ROLE`` name a list
that can grow. So without looking at the directory we know that ``approvals: 2`` from
``[owner]`` needs two distinct owners, that ``require: [{from: owner}, {from: owner}]`` asks the
owner to count twice, and that ``critical`` from ``[agent_owner]`` alone is never met (at
critical the agent's own owner cannot be the only approver). Such a tier or rule would hold
every matching action until it expired, so the policy is refused instead.

The check is optimistic where it cannot know: the owner and the agent's owner are assumed to
be different people, and an open pool is assumed to have enough members. What the directory
actually holds is checked per decision (an action that can never reach its quorum is denied).
"""

from __future__ import annotations

from signoff.domain.approvals import EligibleFactor, quorum_state
from signoff.domain.policy import QuorumFactor, Tier

__all__ = ["quorum_problem"]

_ONE_PERSON = ("owner", "agent_owner")


def _single(expr: str) -> bool:
    return expr in _ONE_PERSON or expr.startswith("user:")


def quorum_problem(tier: Tier, factors: tuple[QuorumFactor, ...]) -> str | None:
    """Why these factors can never be met at ``tier``, or None when some people could meet it."""
    named = sorted({e for f in factors for e in f.approvers if _single(e)})
    slots = sum(f.count for f in factors)
    pools: list[EligibleFactor] = []
    for i, f in enumerate(factors):
        pool = {e for e in f.approvers if _single(e)}
        if not all(_single(e) for e in f.approvers):
            # An open pool: enough members of its own, and the named people may be in it too.
            pool |= {f"#{i}.{n}" for n in range(slots)} | set(named)
        pools.append(EligibleFactor(" | ".join(f.approvers), frozenset(pool), f.count))
    everyone = sorted(set().union(*(p.pool for p in pools)))
    if quorum_state(pools, everyone, tier=tier, agent_owner_id="agent_owner").met:
        return None
    wanted = " and ".join(f"{f.count} from [{', '.join(f.approvers)}]" for f in factors)
    why = (" (at critical the agent's own owner cannot be the only approver)"
           if tier is Tier.CRITICAL and "agent_owner" in named else "")
    who = f"{named[0]} names one person" if len(named) == 1 else \
        f"{', '.join(named)} name one person each"
    return (f"no one could ever approve at {tier}: it needs {wanted}, distinct people, "
            f"but {who}{why}")
