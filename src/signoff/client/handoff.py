"""Handoffs: when an agent acts for another agent, signoff must see the whole chain (R14).

A ``Handoff`` is the provenance a proposal carries: the action it was handed off from
(``parent_id``) and the agents that handled the work so far (``chain``, oldest first). It lives
in a context variable, so code that proposes deep inside a sub-agent does not need the values
threaded through every call::

    with client.handoff(parent_record):      # or Handoff.from_headers(request.headers)
        refund(customer="cus_42", amount=120)  # proposes with parent_id and chain

Across a process boundary (agent A calls agent B over HTTP) pass ``handoff.headers()`` along
and rebuild it on the other side with ``Handoff.from_headers``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from signoff.client.models import ActionRecord
from signoff.errors import InvalidRequest

__all__ = [
    "CHAIN_HEADER",
    "PARENT_HEADER",
    "Handoff",
    "current_action",
    "current_handoff",
    "handing_off",
]

PARENT_HEADER = "Signoff-Parent-Id"
CHAIN_HEADER = "Signoff-Chain"

_handoff: contextvars.ContextVar[Handoff | None] = contextvars.ContextVar(
    "signoff_handoff", default=None
)
_running: contextvars.ContextVar[ActionRecord | None] = contextvars.ContextVar(
    "signoff_running_action", default=None
)


@dataclass(frozen=True, slots=True)
class Handoff:
    """Where the work came from: the parent action and the agents before this one."""

    parent_id: str
    chain: tuple[str, ...] = ()
    on_behalf_of: str | None = None

    @classmethod
    def from_action(cls, record: ActionRecord) -> Handoff:
        """Hand off from ``record``: its agent joins the end of the chain it already carried."""
        chain = list(record.chain)
        if record.agent_id and (not chain or chain[-1] != record.agent_id):
            chain.append(record.agent_id)
        return cls(parent_id=record.id, chain=tuple(chain), on_behalf_of=record.on_behalf_of)

    def headers(self) -> dict[str, str]:
        out = {PARENT_HEADER: self.parent_id, CHAIN_HEADER: ",".join(self.chain)}
        if self.on_behalf_of:
            out["Signoff-On-Behalf-Of"] = self.on_behalf_of
        return out

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Handoff | None:
        """Rebuild from HTTP headers (case-insensitive); ``None`` when no handoff was sent."""
        lower = {k.lower(): v for k, v in headers.items()}
        parent = lower.get(PARENT_HEADER.lower(), "").strip()
        if not parent:
            return None
        chain = tuple(p.strip() for p in lower.get(CHAIN_HEADER.lower(), "").split(",")
                      if p.strip())
        return cls(parent_id=parent, chain=chain,
                   on_behalf_of=lower.get("signoff-on-behalf-of") or None)


def coerce_handoff(source: Handoff | ActionRecord | str, chain: Any = ()) -> Handoff:
    if isinstance(source, Handoff):
        return source
    if isinstance(source, ActionRecord):
        return Handoff.from_action(source)
    if isinstance(source, str) and source:
        return Handoff(parent_id=source, chain=tuple(chain))
    raise InvalidRequest("a handoff needs an ActionRecord, a Handoff or a parent action id",
                         field="parent_id")


@contextmanager
def handing_off(source: Handoff | ActionRecord | str, chain: Any = ()) -> Iterator[Handoff]:
    """Every proposal made inside the block carries this handoff (also across ``await``)."""
    handoff = coerce_handoff(source, chain)
    token = _handoff.set(handoff)
    try:
        yield handoff
    finally:
        _handoff.reset(token)


def current_handoff() -> Handoff | None:
    return _handoff.get()


def current_action() -> ActionRecord | None:
    """The action whose gated function is running now (to hand it off to a sub-agent)."""
    return _running.get()


@contextmanager
def running(record: ActionRecord) -> Iterator[None]:
    token = _running.set(record)
    try:
        yield
    finally:
        _running.reset(token)
