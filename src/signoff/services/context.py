"""What every use case needs, handed in by the composition root (never built at import)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from signoff.domain.audit import AuditEvent
from signoff.domain.grants import Signer
from signoff.domain.identities import Principal
from signoff.domain.policy import PolicyEvaluator
from signoff.services.ports import UnitOfWork

if TYPE_CHECKING:  # tokens imports this module
    from signoff.services.tokens import TokenCache

__all__ = ["Limits", "PolicySource", "ReloadOutcome", "ServiceContext", "SystemClock", "new_id"]


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ReloadOutcome(Protocol):
    """What a reload did (``ok`` false: the last good policy stayed in force)."""

    ok: bool

    def as_dict(self) -> dict[str, Any]: ...


class PolicySource(Protocol):
    """Gives the policy in force now (it may be reloaded between two decisions).

    There is always a policy file behind it (``SIGNOFF_POLICY`` or the shipped default), so
    every source can be reloaded and described.
    """

    @property
    def current(self) -> PolicyEvaluator: ...

    def shadow_decide(self, subject: Any, decision: Any) -> dict[str, Any] | None: ...

    def reload(self) -> ReloadOutcome: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_params_bytes: int = 64 * 1024
    max_params_depth: int = 32
    max_text_chars: int = 2_000_000


@dataclass(slots=True)
class ServiceContext:
    uow: Callable[..., UnitOfWork]
    policy: PolicySource
    signer: Signer
    clock: Any
    issuer: str = "signoff"
    limits: Limits = Limits()
    password_hasher: Any = None
    # Write an "awaiting your decision" notification for each eligible approver of a new
    # pending action (flags and escalations are always written).
    notify_pending: bool = True
    # Agents recently authenticated, for the proposal path only (None: always look up).
    token_cache: TokenCache | None = None

    def now(self) -> datetime:
        return self.clock.now()  # type: ignore[no-any-return]

    def event(self, type_: str, actor: Principal | str, *, action_id: str | None = None,
              data: dict[str, Any] | None = None, agent_id: str | None = None,
              workflow: str | None = None, at: datetime | None = None) -> AuditEvent:
        return AuditEvent(
            type=type_, actor=actor if isinstance(actor, str) else actor.actor,
            at=at or self.now(), action_id=action_id, data=data or {}, agent_id=agent_id,
            workflow=workflow)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
