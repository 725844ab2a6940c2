"""RFC 9457 problem+json for every error, in one place. No input may produce a 500 body of ours
that leaks a traceback; unexpected errors are logged and answered with a plain problem."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from signoff.errors import SignoffError

__all__ = ["install_problem_handlers", "problem_response"]

log = logging.getLogger("signoff.api")
MEDIA_TYPE = "application/problem+json"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def problem_response(status: int, title: str, detail: str, code: str, **extra: Any
                     ) -> JSONResponse:
    body = {"type": f"https://signoff.dev/problems/{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(_jsonable(body), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignoffError)
    async def _signoff(request: Request, exc: SignoffError) -> JSONResponse:
        body = exc.to_problem()
        status = body.pop("status")
        return problem_response(status, body.pop("title"), body.pop("detail"), body.pop("code"),
                                **{k: v for k, v in body.items() if k != "type"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            return problem_response(422, "Malformed JSON", f"the body is not valid JSON: "
                                    f"{first.get('ctx', {}).get('error', '')}".strip(),
                                    "malformed_json", field="body")
        issues = [{"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
                  for e in errors[:20]]
        return problem_response(422, "Invalid request", f"{field}: {first.get('msg')}",
                                "invalid_request", field=field, errors=issues)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return problem_response(exc.status_code, str(exc.detail), str(exc.detail),
                                codes.get(exc.status_code, "http_error"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "the server could not complete the "
                                "request; nothing was changed", "internal_error")
