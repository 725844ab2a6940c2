"""One exception tree for server, CLI and SDK.

Every error carries a stable ``code`` (also the last part of the problem ``type`` URI) and the
HTTP status the API answers with. The API turns them into RFC 9457 problem+json in one table;
the SDK turns a problem's ``code`` back into the same class, so callers catch the same thing on
both sides of the wire::

    SignoffError
    ├── InvalidRequest (422)        bad field, with ``field``
    │   ├── ReviewTooSoon (422)     ``seconds_left``
    │   └── RationaleRequired (422)
    ├── PayloadTooLarge (413)
    ├── Unauthenticated (401)
    ├── Forbidden (403)
    │   ├── AgentSuspended (403)
    │   ├── WorkflowFrozen (403)
    │   └── GrantRefused (403)      revoked, expired, digest mismatch, world changed
    ├── NotFound (404)
    ├── Conflict (409)
    │   └── AlreadyRedeemed (409)
    ├── ConfigurationError (500)    bad settings or policy: refuse to start
    ├── Unavailable (503)           signoff cannot be reached: fail closed
    ├── ProtocolError               the server answered something we cannot read
    └── NotApproved                 an SDK gate outcome; the function did not run
        ├── Denied, Rejected, Expired, Cancelled
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AgentSuspended",
    "AlreadyRedeemed",
    "Cancelled",
    "ConfigurationError",
    "Conflict",
    "Denied",
    "Expired",
    "Forbidden",
    "GrantRefused",
    "InvalidRequest",
    "NotApproved",
    "NotFound",
    "PayloadTooLarge",
    "ProtocolError",
    "RationaleRequired",
    "Rejected",
    "ReviewTooSoon",
    "SignoffError",
    "Unauthenticated",
    "Unavailable",
    "WorkflowFrozen",
    "error_for_code",
]


class SignoffError(Exception):
    """Base of every error signoff raises on purpose."""

    code: ClassVar[str] = "signoff_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "signoff error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra: dict[str, Any] = extra

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://signoff.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        body.update(self.extra)
        return body


class InvalidRequest(SignoffError):
    code = "invalid_request"
    status = 422
    title = "Invalid request"


class ReviewTooSoon(InvalidRequest):
    code = "review_too_soon"
    title = "Review too soon"


class RationaleRequired(InvalidRequest):
    code = "rationale_required"
    title = "Rationale required"


class PayloadTooLarge(SignoffError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class Unauthenticated(SignoffError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(SignoffError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class AgentSuspended(Forbidden):
    code = "agent_suspended"
    title = "Agent suspended"


class WorkflowFrozen(Forbidden):
    code = "workflow_frozen"
    title = "Workflow frozen"


class GrantRefused(Forbidden):
    code = "grant_refused"
    title = "Grant refused"


class NotFound(SignoffError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(SignoffError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"
    title = "Grant already redeemed"


class ConfigurationError(SignoffError):
    code = "configuration_error"
    status = 500
    title = "Configuration error"


class Unavailable(SignoffError):
    code = "unavailable"
    status = 503
    title = "signoff unavailable"


class ProtocolError(SignoffError):
    code = "protocol_error"
    status = 502
    title = "Unexpected answer from signoff"


class NotApproved(SignoffError):
    """The action did not get the right to run; carries its id, status and reasons."""

    code = "not_approved"
    status = 403
    title = "Not approved"

    def __init__(
        self, detail: str = "", *, action_id: str | None = None, reasons: list[Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, **extra)
        self.action_id = action_id
        self.reasons = list(reasons or [])


class Denied(NotApproved):
    code = "denied"
    title = "Denied by policy"


class Rejected(NotApproved):
    code = "rejected"
    title = "Rejected by a reviewer"


class Expired(NotApproved):
    code = "expired"
    title = "Expired before it could run"


class Cancelled(NotApproved):
    code = "cancelled"
    title = "Cancelled"


def _all_subclasses(cls: type[SignoffError]) -> list[type[SignoffError]]:
    out: list[type[SignoffError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def error_for_code(code: str) -> type[SignoffError]:
    """The class for a problem ``code``; unknown codes map to the base class."""
    for cls in _all_subclasses(SignoffError):
        if cls.code == code:
            return cls
    return SignoffError
