"""Policy hooks of the server's lifespan: record the load, reload on SIGHUP.

SIGHUP is handled on the event loop (``loop.add_signal_handler``) and the reload itself runs in
a worker thread: compiling a policy and writing its audit event never block requests. Where
signals cannot be installed (not the main thread, e.g. a test client), only the API reload is
available.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from signoff.bootstrap import Signoff
from signoff.services.policy_admin import record_policy_loaded, reload_policy

__all__ = ["start_policy_hooks"]

log = logging.getLogger("signoff.policy")


def _reload_from_signal(signoff: Signoff) -> None:
    try:
        result = reload_policy(signoff.ctx, None, trigger="sighup")
    except Exception:  # a failed reload must never take the server down
        log.exception("policy reload on SIGHUP failed")
        return
    if result["ok"] and not result.get("shadow_errors"):
        log.warning("policy reloaded on SIGHUP: version %s", result["version"])
    else:
        for line in (result.get("errors") or []) + (result.get("shadow_errors") or []):
            log.error("policy reload refused, keeping version %s: %s", result["version"], line)
    for line in result.get("warnings") or []:
        log.warning("policy: %s", line)


async def start_policy_hooks(signoff: Signoff) -> Callable[[], None]:
    """Record ``policy.loaded`` and install the SIGHUP handler; returns the undo."""
    loop = asyncio.get_running_loop()
    for line in await loop.run_in_executor(None, record_policy_loaded, signoff.ctx):
        log.warning("policy: %s", line)

    def on_sighup() -> None:
        loop.run_in_executor(None, _reload_from_signal, signoff)

    sighup = getattr(signal, "SIGHUP", None)  # absent on Windows
    why = "this platform has no SIGHUP" if sighup is None else None
    if sighup is not None:
        try:
            loop.add_signal_handler(sighup, on_sighup)
        except (RuntimeError, NotImplementedError, ValueError) as exc:  # not the main thread
            why = str(exc)
    if why is not None:
        # Not the main thread (an embedding app, the test client) or no signals here: reloads
        # still work through POST /v1/policy/reload, so say so rather than fail to start.
        log.info("policy: no SIGHUP reload in this process (%s); use POST /v1/policy/reload",
                 why)
        return lambda: None

    def undo() -> None:
        with contextlib.suppress(RuntimeError, ValueError):
            loop.remove_signal_handler(sighup)
    return undo
