"""The review console: server-rendered pages on the API's app (``mount_console``).

Same process, same service functions, same audit trail as the HTTP API; the console only
adds sign-in sessions, forms with CSRF tokens, and pages built for people who must decide.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from signoff.bootstrap import Signoff
from signoff.errors import SignoffError
from signoff.web import views_auth, views_manage, views_review
from signoff.web.support import (
    Console,
    CsrfRefused,
    SecurityHeaders,
    SignInNeeded,
    sign_in_redirect,
)

__all__ = ["mount_console"]

_STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI, signoff: Signoff) -> None:
    """Add the console's routes, static files, error pages and security headers to ``app``."""
    console = Console(signoff)
    app.state.console = console
    for module in (views_auth, views_review, views_manage):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=_STATIC), name="console-static")
    api_handler = app.exception_handlers.get(SignoffError)

    async def signoff_error(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console") or not isinstance(exc, SignoffError):
            assert api_handler is not None
            return await api_handler(request, exc)  # type: ignore[no-any-return]
        session = None
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            session = console.sessions.resolve(request.cookies.get(console.cookie))
        return console.page(request, "error.html", session=session, error=exc,
                            status=exc.status)

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        return sign_in_redirect(request)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return HTMLResponse(console.env.get_template("csrf.html").render(session=None,
                                                                         principal=None),
                            status_code=403)

    app.add_exception_handler(SignoffError, signoff_error)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_middleware(SecurityHeaders)
