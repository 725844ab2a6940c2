"""signoff: keep a named human accountable for what AI agents do.

The public SDK surface for agents and executors, re-exported from ``signoff.client``. Importing
``signoff`` stays light: no server code (FastAPI, SQLAlchemy) is loaded. Framework adapters live
in ``signoff.client.adapters`` and are imported only when used.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    from signoff.client import (
        ActionRecord,
        AlreadyRedeemed,
        AsyncClient,
        Cancelled,
        Client,
        Denied,
        Expired,
        FailOpenJournal,
        Gate,
        GrantClaims,
        GrantRefused,
        GrantVerifier,
        Handoff,
        Impact,
        InputRef,
        JwksCache,
        NotApproved,
        OutcomeUnknown,
        ProtocolError,
        Rejected,
        RetryPolicy,
        SignoffError,
        Unavailable,
        compute_digest,
        current_action,
        verify_grant,
    )

__all__ = [
    "ActionRecord",
    "AlreadyRedeemed",
    "AsyncClient",
    "Cancelled",
    "Client",
    "Denied",
    "Expired",
    "FailOpenJournal",
    "Gate",
    "GrantClaims",
    "GrantRefused",
    "GrantVerifier",
    "Handoff",
    "Impact",
    "InputRef",
    "JwksCache",
    "NotApproved",
    "OutcomeUnknown",
    "ProtocolError",
    "Rejected",
    "RetryPolicy",
    "SignoffError",
    "Unavailable",
    "compute_digest",
    "current_action",
    "verify_grant",
]


def __getattr__(name: str) -> Any:
    """Load the SDK on first use (PEP 562), so ``import signoff.cli`` or the server never pays
    for the client's imports, while ``signoff.Client`` works as usual."""
    if name in __all__:
        import signoff.client as client

        return getattr(client, name)
    raise AttributeError(f"module 'signoff' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
