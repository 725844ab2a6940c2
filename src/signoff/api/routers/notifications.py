"""/v1/notifications/outbox: what was sent to whom, what failed, and sending again (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from signoff.api.deps import app_of, principal_of
from signoff.domain.identities import Principal
from signoff.services import outbox

router = APIRouter(tags=["notifications"])
Caller = Annotated[Principal, Depends(principal_of)]


@router.get("/v1/notifications/outbox")
def list_outbox(request: Request, principal: Caller, state: str | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Newest first; ``state`` one of pending, delivered, failed, skipped."""
    app = app_of(request)
    return outbox.list_outbox(app.ctx, principal, channels=app.channels, state=state,
                              limit=limit)


@router.post("/v1/notifications/outbox/{notification_id}/retry")
def retry(notification_id: str, request: Request, principal: Caller) -> dict[str, Any]:
    """A failed or skipped notification goes back to the queue (on record)."""
    app = app_of(request)
    n = outbox.retry_notification(app.ctx, principal, notification_id)
    return outbox.as_dict(n, app.channels)
