"""422 for a NUL character (U+0000) in an API request's path, query, headers or JSON body.

PostgreSQL cannot store a NUL (text columns and JSONB both refuse it), so such input used to
fail deep inside a query as a 500, while SQLite stored it: now both refuse it the same way,
before any work is done. JSON can carry a NUL only as the escape ``\\u0000``, so a body is
parsed only when those bytes occur in it (a literal backslash before ``u0000`` is not a NUL,
hence the parse). The console checks its own forms and addresses (``web/support.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signoff.api.problems import problem_response

__all__ = ["RefuseNul", "holds_nul"]

_ESCAPE = b"\\u0000"


def holds_nul(value: Any) -> bool:
    """Whether any string in a parsed JSON value (keys included) holds U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/console"):
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await self._refuse(scope, receive, send, "the address")
            return
        if any(b"\x00" in value for _, value in scope.get("headers", ())):
            await self._refuse(scope, receive, send, "a header")
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if _ESCAPE in body and _parsed_holds_nul(body):
            await self._refuse(scope, receive, send, "the request body")
            return
        replay: Iterator[Message] = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        response = problem_response(422, "Invalid request", f"{where} holds a NUL character "
                                    "(U+0000), which is refused", "invalid_request")
        await response(scope, receive, send)


def _parsed_holds_nul(body: bytes) -> bool:
    try:
        return holds_nul(orjson.loads(body))
    except orjson.JSONDecodeError:  # not JSON: the endpoint answers that itself
        return False
