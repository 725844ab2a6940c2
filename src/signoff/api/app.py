"""The FastAPI application factory (the console mounts onto the same app)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signoff.api.metrics import Metrics
from signoff.api.notify_sender import NotificationSender
from signoff.api.nul_guard import RefuseNul
from signoff.api.policy_lifecycle import start_policy_hooks
from signoff.api.problems import install_problem_handlers, problem_response
from signoff.api.responses import document_bodies
from signoff.api.routers import (
    actions,
    audit,
    fail_open,
    identities,
    meta,
    notifications,
    policy,
    workflows,
)
from signoff.api.routers.audit import checkpoint_forever
from signoff.bootstrap import Signoff
from signoff.services.sweeper import sweep
from signoff.web import mount_console

__all__ = ["create_app"]

log = logging.getLogger("signoff.api")


class BodyLimit:
    """413 for bodies over the limit, counted as they stream (Content-Length can lie)."""

    def __init__(self, app: ASGIApp, limit: int, metrics: Metrics) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status_seen: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, counting_send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, counting_send)
        except _TooLarge:
            if not status_seen:
                await self._too_large(scope, receive, counting_send)
        finally:
            self.metrics.count_request(scope.get("method", ""), status_seen[0] if status_seen
                                       else 500)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "Payload too large",
                                    f"the request body is over {self.limit} bytes",
                                    "payload_too_large", limit=self.limit)
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(signoff: Signoff, *, sweeper: bool = True, extra_routers: list[Any] | None = None
               ) -> FastAPI:
    metrics = Metrics()
    signoff.extras["metrics"] = metrics

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signoff.start()
        stop_policy_hooks = await start_policy_hooks(signoff)
        tasks = [asyncio.create_task(_sweep_forever(signoff)),
                 asyncio.create_task(checkpoint_forever(signoff))] if sweeper else []
        sender = NotificationSender(signoff)
        if sweeper:   # background work together: tests that drive time themselves get none
            sender.start()
        try:
            yield
        finally:
            await run_in_threadpool(sender.stop)
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            stop_policy_hooks()
            signoff.close()

    app = FastAPI(title="signoff", version="1", lifespan=lifespan,
                  description="Human accountability for AI agent actions.")
    app.state.signoff = signoff
    install_problem_handlers(app)
    for module in (actions, identities, workflows, meta, audit, fail_open, policy,
                   notifications):
        app.include_router(module.router)
    for router in extra_routers or []:
        app.include_router(router)
    document_bodies(app)
    mount_console(app, signoff)
    app.add_middleware(RefuseNul)  # inside BodyLimit, which bounds what it buffers
    app.add_middleware(BodyLimit, limit=signoff.settings.max_body_bytes, metrics=metrics)
    return app


async def _sweep_forever(signoff: Signoff) -> None:
    interval = signoff.settings.sweep_interval
    while True:
        try:
            await run_in_threadpool(sweep, signoff.ctx)
        except Exception:  # a failed sweep must not stop the next one; it is retried
            log.exception("sweep failed")
        await asyncio.sleep(interval)
