"""The notification sender of a server process: a thread started and stopped by the lifespan.

A thread of its own rather than an event-loop task that hops into the request thread pool:
a mail server taking its full timeout must never hold one of the threads requests run on.
Every process runs one (``serve --workers N``, several hosts on one PostgreSQL); the claim in
``services/delivery.py`` makes sure they never send one notification twice. With no channel
configured no thread starts, and the outbox keeps its rows for the console.
"""

from __future__ import annotations

import logging
import threading

from signoff.bootstrap import Signoff
from signoff.services.delivery import deliver_due

__all__ = ["NotificationSender"]

log = logging.getLogger("signoff.notify")


class NotificationSender:
    def __init__(self, signoff: Signoff) -> None:
        self.signoff = signoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.signoff.notifiers or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="signoff-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to stop after the message in hand; a row it could not settle goes
        back to the outbox when its lease runs out."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        s = self.signoff
        interval = s.settings.notify_interval
        while not self._stop.is_set():
            try:
                report = deliver_due(s.ctx, s.notifiers, s.delivery)
            except Exception:  # a failed round must not stop the next one; rows come back
                log.exception("notification delivery failed")
                report = None
            if report is not None and report.failed:
                log.warning("notifications: %d failed for good (see the outbox)",
                            report.failed)
            # A full batch: more may be due, look again at once.
            if report is None or report.claimed < s.delivery.batch:
                self._stop.wait(interval)
