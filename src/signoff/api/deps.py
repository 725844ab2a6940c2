"""Request-scoped helpers: the wired application and who is calling."""

from __future__ import annotations

from fastapi import Request

from signoff.bootstrap import Signoff
from signoff.domain.identities import Principal
from signoff.errors import Unauthenticated
from signoff.services.tokens import authenticate

__all__ = ["app_of", "principal_of"]


def app_of(request: Request) -> Signoff:
    return request.app.state.signoff  # type: ignore[no-any-return]


def principal_of(request: Request) -> Principal:
    """Bearer token, or (for the console) a signed-in session set by the web layer."""
    session_principal = getattr(request.state, "principal", None)
    if session_principal is not None:
        return session_principal  # type: ignore[no-any-return]
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    return authenticate(app_of(request).ctx, token.strip())
