"""Keys, liveness, metrics and the raw audit stream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from signoff.api.deps import app_of, principal_of
from signoff.domain.identities import Principal, Role
from signoff.services.authz import forbid

router = APIRouter(tags=["meta"])
Caller = Annotated[Principal, Depends(principal_of)]


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    return app_of(request).ctx.signer.jwks()


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    app = app_of(request)
    with app.ctx.uow(readonly=True) as uow:
        head = uow.audit.head()
    return {"status": "ok", "database": app.engine.dialect.name, "audit_seq": head[0],
            "waiters": app.hub.waiting, "policy_version": app.ctx.policy.current.version}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    return app_of(request).extras["metrics"].render(app_of(request))  # type: ignore[no-any-return]


@router.get("/v1/audit")
def audit(request: Request, principal: Caller, after: Annotated[int, Query(ge=0)] = 0,
          action_id: str | None = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
    ctx = app_of(request).ctx
    if not (principal.has(Role.AUDITOR) or principal.has(Role.ADMIN)):
        raise forbid(ctx, principal, "the audit trail is for auditors and admins")
    with ctx.uow(readonly=True) as uow:
        items = uow.audit.events(action_id=action_id, after=after, limit=limit)
    return {"items": items, "next_after": items[-1]["seq"] if items else after}
