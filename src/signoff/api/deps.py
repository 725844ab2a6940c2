"""Request-scoped helpers: the wired application and who is calling."""

from __future__ import annotations

from fastapi import Request

from signoff.bootstrap import Signoff
from signoff.domain.identities import Principal
from signoff.errors import Unauthenticated
from signoff.services.tokens import authenticate, authenticate_for_proposal

__all__ = ["app_of", "principal_of"]


def app_of(request: Request) -> Signoff:
    return request.app.state.signoff  # type: ignore[no-any-return]


def principal_of(request: Request, *, for_proposal: bool = False) -> Principal:
    """Bearer token, or (for the console) a signed-in session set by the web layer.

    ``for_proposal``: only ``POST /v1/actions`` asks for it; an agent may then come from the
    token cache, and the proposal confirms its token inside its own transaction."""
    session_principal = getattr(request.state, "principal", None)
    if session_principal is not None:
        return session_principal  # type: ignore[no-any-return]
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    if for_proposal:
        return authenticate_for_proposal(app_of(request).ctx, token.strip())
    return authenticate(app_of(request).ctx, token.strip())
