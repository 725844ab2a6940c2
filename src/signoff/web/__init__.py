"""The review console: server-rendered pages on the API's app (``mount_console``).

Same process, same service functions, same audit trail as the HTTP API; the console only
adds sign-in sessions, forms with CSRF tokens, and pages built for people who must decide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from signoff.bootstrap import Signoff
from signoff.errors import SignoffError
from signoff.web import views_admin, views_auth, views_manage, views_review
from signoff.web.support import (
    Console,
    CsrfRefused,
    PageError,
    SecurityHeaders,
    SignInNeeded,
    sign_in_redirect,
)

__all__ = ["mount_console"]

_STATIC = Path(__file__).parent / "static"
_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}


def _validation_error(exc: RequestValidationError) -> PageError:
    """A query value the page cannot use (``limit=abc``): say which, as a 422 page."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    return PageError(422, "Invalid request",
                     f"{field or 'request'}: {first.get('msg', 'invalid value')}")


def mount_console(app: FastAPI, signoff: Signoff) -> None:
    """Add the console's routes, static files, error pages and security headers to ``app``."""
    console = Console(signoff)
    app.state.console = console
    for module in (views_auth, views_review, views_manage, views_admin):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=_STATIC), name="console-static")
    api_handlers = dict(app.exception_handlers)

    async def error_page(request: Request, error: Any) -> Response:
        # The navigation needs the session; an error page must not fail on a stale cookie.
        def render() -> Response:
            session = console.sessions.resolve(request.cookies.get(console.cookie))
            return console.page(request, "error.html", session=session, error=error,
                                status=error.status)

        return await run_in_threadpool(render)

    def console_first(kind: type[Exception], to_error: Any) -> None:
        """Console paths get an HTML page; every other path keeps the API's problem+json."""
        api_handler = api_handlers.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if request.url.path.startswith("/console") and isinstance(exc, kind):
                return await error_page(request, to_error(exc))
            assert api_handler is not None
            return await api_handler(request, exc)  # type: ignore[no-any-return]

        app.add_exception_handler(kind, handler)

    console_first(SignoffError, lambda exc: exc)
    console_first(RequestValidationError, _validation_error)
    console_first(StarletteHTTPException, lambda exc: PageError(
        exc.status_code, _HTTP_TITLES.get(exc.status_code, "Request refused"),
        "There is no such page in the console." if exc.status_code == 404 else str(exc.detail)))

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        return sign_in_redirect(request)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return HTMLResponse(console.env.get_template("csrf.html").render(session=None,
                                                                         principal=None),
                            status_code=403)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_middleware(SecurityHeaders)
