"""Keys, liveness (with the audit chain's state) and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from signoff.adapters.db.audit_store import SqlAuditStore
from signoff.api.deps import app_of

router = APIRouter(tags=["meta"])


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    return app_of(request).ctx.signer.jwks()


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    app = app_of(request)
    with app.ctx.uow(readonly=True) as uow:
        head = uow.audit.head()
        latest = SqlAuditStore.of(uow).latest_checkpoint()
    # Events are sealed inside the committing transaction: nothing is ever waiting unsealed.
    audit = {"seq": head[0], "unsealed": 0, "latest_checkpoint": None if latest is None else
             {k: latest[k] for k in ("seq", "hash", "at", "kid")}}
    return {"status": "ok", "database": app.engine.dialect.name, "audit_seq": head[0],
            "audit": audit,
            "waiters": app.hub.waiting, "policy_version": app.ctx.policy.current.version}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    return app_of(request).extras["metrics"].render(app_of(request))  # type: ignore[no-any-return]
