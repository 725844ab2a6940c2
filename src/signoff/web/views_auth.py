"""Sign in and sign out (email and password today; the session layer is ready for SSO)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signoff.services.sessions import SignInRefused
from signoff.web.support import (
    LOGIN_CSRF_COOKIE,
    console_of,
    form_values,
    refuse_nul,
    safe_next,
)

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/console") -> Response:  # noqa: A002
    console = console_of(request)
    token = console.login_csrf(request)
    response = console.page(request, "login.html", session=None, login_csrf=token,
                            next=safe_next(next), error=None)
    console.set_login_csrf(response, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    values = await form_values(request)
    for value in values.values():
        refuse_nul(value, "form")
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    target = safe_next(values.get("next"))
    email = values.get("email", "")
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(),
                                                   values.get("csrf", "").encode()):
        token = console.login_csrf(request)
        response = console.page(request, "login.html", session=None, login_csrf=token,
                                next=target, email=email, status=403,
                                error="Your sign-in form expired. Please try again.")
        console.set_login_csrf(response, token)
        return response
    client = request.client.host if request.client else ""
    try:
        session = await run_in_threadpool(
            console.sessions.sign_in_password, email, values.get("password", ""), ip=client,
            user_agent=request.headers.get("user-agent", ""))
    except SignInRefused as exc:
        response = console.page(request, "login.html", session=None, login_csrf=cookie_token,
                                next=target, email=email, error=exc.detail, status=401)
        return response
    # A session this browser already held (someone else's, perhaps, on a shared machine)
    # ends on the server too; the new cookie alone would only hide it.
    previous = await run_in_threadpool(console.sessions.resolve,
                                       request.cookies.get(console.cookie))
    if previous is not None:
        await run_in_threadpool(console.sessions.sign_out, previous)
    redirect = RedirectResponse(target, status_code=303)
    console.set_session_cookie(redirect, session)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return redirect


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = console_of(request)
    session, _ = await console.posted(request)
    await run_in_threadpool(console.sessions.sign_out, session)
    response = RedirectResponse("/console/login", status_code=303)
    console.clear_session_cookie(response)
    return response
