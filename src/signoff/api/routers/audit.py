"""The audit trail over HTTP: filtered events with a seq cursor, and the chain check."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from signoff.adapters.db.audit_store import audit_deps
from signoff.api.deps import app_of, principal_of
from signoff.bootstrap import Signoff
from signoff.domain.identities import Principal
from signoff.services import audit as audit_service
from signoff.services.audit_query import list_events, parse_time

log = logging.getLogger("signoff.audit")
router = APIRouter(tags=["audit"])
Caller = Annotated[Principal, Depends(principal_of)]


def _deps(request: Request) -> Any:
    app = app_of(request)
    return audit_deps(app.ctx, app.settings)


@router.get("/v1/audit")
def audit(request: Request, principal: Caller, after: Annotated[int, Query(ge=0)] = 0,
          limit: Annotated[int, Query(ge=1, le=5000)] = 500,
          action_id: str | None = None, action: str | None = None, agent: str | None = None,
          workflow: str | None = None, actor: str | None = None, human: str | None = None,
          type: Annotated[list[str] | None, Query()] = None,  # noqa: A002 - the API's name
          since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Events after ``after``; filters combine; ``type`` may repeat or end with '.' (prefix)."""
    who = actor or (f"human:{human}" if human and ":" not in human else human)
    return list_events(_deps(request), principal, after=after, limit=limit,
                       action_id=action or action_id, agent_id=agent, workflow=workflow,
                       actor=who, types=type, since=parse_time(since, name="since"),
                       until=parse_time(until, name="until"))


@router.get("/v1/audit/verify")
def verify(request: Request, principal: Caller) -> dict[str, Any]:
    """Recompute the whole chain and check every checkpoint signature (may take seconds)."""
    return audit_service.verify(_deps(request), principal)


async def checkpoint_forever(signoff: Signoff) -> None:
    """Background checkpointer: every second, sign the head if N events or T seconds passed."""
    deps = audit_deps(signoff.ctx, signoff.settings)
    interval = min(1.0, signoff.settings.audit_checkpoint_seconds)
    while True:
        try:
            await run_in_threadpool(audit_service.checkpoint, deps)
        except Exception:  # a failed checkpoint must not stop the next one; it is retried
            log.exception("checkpoint failed")
        await asyncio.sleep(interval)
