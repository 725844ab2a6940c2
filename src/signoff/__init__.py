"""signoff: keep a named human accountable for what AI agents do.

The public SDK surface for agents and executors, re-exported from ``signoff.client``. Importing
``signoff`` stays light: no server code (FastAPI, SQLAlchemy) is loaded. Framework adapters live
in ``signoff.client.adapters`` and are imported only when used.
"""

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
