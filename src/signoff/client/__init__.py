"""The signoff Python SDK: propose, wait for a human, and run only with a grant.

This package never imports server code (an import-linter contract enforces it), so agents
install and import it without SQLAlchemy or FastAPI. The errors are the same classes the server
raises (``signoff.errors``): catch ``signoff.NotApproved`` on either side of the wire.
"""

from signoff.client.aio import AsyncClient
from signoff.client.executor import verify_grant
from signoff.client.failopen import FailOpenJournal, FailOpenRecord, TierMemory
from signoff.client.flow import Ticket
from signoff.client.gate import Gate, GateCall
from signoff.client.handoff import Handoff, current_action, current_handoff, handing_off
from signoff.client.models import (
    ActionRecord,
    GrantInfo,
    Outcome,
    PolicyCheck,
    Quorum,
    Reason,
    Redemption,
    Review,
    TimelineEvent,
)
from signoff.client.payload import compute_digest
from signoff.client.proposal import Impact, InputRef
from signoff.client.sync import Client
from signoff.client.transport import OutcomeUnknown, RetryPolicy
from signoff.client.verify import GrantClaims, GrantVerifier, JwksCache
from signoff.errors import (
    AlreadyRedeemed,
    Cancelled,
    Denied,
    Expired,
    GrantRefused,
    NotApproved,
    ProtocolError,
    Rejected,
    SignoffError,
    Unavailable,
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
    "FailOpenRecord",
    "Gate",
    "GateCall",
    "GrantClaims",
    "GrantInfo",
    "GrantRefused",
    "GrantVerifier",
    "Handoff",
    "Impact",
    "InputRef",
    "JwksCache",
    "NotApproved",
    "Outcome",
    "OutcomeUnknown",
    "PolicyCheck",
    "ProtocolError",
    "Quorum",
    "Reason",
    "Redemption",
    "Rejected",
    "RetryPolicy",
    "Review",
    "SignoffError",
    "Ticket",
    "TierMemory",
    "TimelineEvent",
    "Unavailable",
    "compute_digest",
    "current_action",
    "current_handoff",
    "handing_off",
    "verify_grant",
]
