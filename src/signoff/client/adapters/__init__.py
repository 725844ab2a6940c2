"""Framework adapters: thin layers over ``signoff.client.gate`` for agent frameworks.

Import the one you use; each needs its framework installed (``pip install signoff[agents]``):

- ``signoff.client.adapters.langgraph``: LangChain/LangGraph tools (``gated_tool``) and an
  interrupt-based variant (``interrupting_tool``) that surfaces a pending approval to the graph.
- ``signoff.client.adapters.openai_agents``: OpenAI Agents SDK function tools whose approval
  (``needs_approval`` / ``RunState.approve`` / ``reject``) is driven by signoff's decision.

Nothing here is imported by ``signoff`` or ``signoff.client``, so the frameworks stay optional.
The helpers below are shared by the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from signoff.client.gate import Gate, Prepared
from signoff.errors import NotApproved

__all__ = ["keyed", "prepare_keyed", "refusal_message"]


def keyed(prepared: Prepared, key: str) -> Prepared:
    """The same call with a fixed idempotency key (so re-proposing finds the same action)."""
    return replace(prepared, body={**prepared.body, "idempotency_key": key}, own_key=False)


def prepare_keyed(gate: Gate, params: Mapping[str, Any], key: str, *,
                  default_target: str | None) -> Prepared:
    return keyed(gate.prepare(dict(params), default_target=default_target), key)


def refusal_message(exc: NotApproved) -> str:
    """What the model is told when signoff refused a call (the function did not run)."""
    reasons = "; ".join(_reason_text(r) for r in exc.reasons if _reason_text(r))
    text = f"signoff: not run ({type(exc).__name__.lower()}"
    if exc.action_id:
        text += f", action {exc.action_id}"
    text += ")"
    return f"{text}: {reasons}" if reasons else text


def _reason_text(reason: Any) -> str:
    if isinstance(reason, str):
        return reason
    for name in ("message", "rule_id"):
        value = getattr(reason, name, None) or (reason.get(name) if isinstance(reason, dict)
                                                else None)
        if value:
            return str(value)
    return ""
