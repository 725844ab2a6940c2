"""Outcome reports sent in the background, so a gated call returns after its function ran.

An outcome is reported after the function ran; making the caller wait for that round trip
adds latency without adding safety (the grant was spent before the function ran). Each client
owns one sender: ``Client`` a daemon thread, ``AsyncClient`` an asyncio task on the loop that
submitted the report. Both keep a small FIFO queue, retry a report a few times while signoff is
unreachable, then hand it to ``Shared.note_unreported`` (sent again by ``client.flush()``). A
report never raises into the caller. The queue is flushed by ``flush_outcomes(timeout)``,
``close()``/``aclose()`` and at interpreter exit.

A report is removed from the queue only after it was delivered (or given up on), so a flush that
returns ``True`` means the server has every outcome queued before it.

Reports leave in batches (``POST /v1/outcomes``, one transaction for all): a lone report waits
up to ``LINGER`` seconds for company unless a flush is waiting. One request per outcome made
the sender compete with the caller's next proposal for the server's CPU and the audit chain's
head: on PostgreSQL with two server processes that cost an allowed gated call ~2.7 ms of its
median (6.9 ms against 4.2 ms with no outcome sent, same run).
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING

import httpx

from signoff.errors import SignoffError, Unavailable

if TYPE_CHECKING:
    from signoff.client.aio import AsyncClient
    from signoff.client.sync import Client

__all__ = ["AsyncOutcomeSender", "OutcomeSender"]

log = logging.getLogger("signoff.client")

Item = tuple[str, str, str]  # action id, status, detail

ATTEMPTS = 4
BACKOFF = 0.2
IDLE_SECONDS = 2.0
EXIT_TIMEOUT = 5.0
BATCH = 50        # reports per request at most (the server takes up to 100)
LINGER = 0.02     # seconds a report waits for others to share its request


def _given_up(client: Client | AsyncClient, batch: list[Item], exc: Exception) -> None:
    for item in batch:
        log.warning("signoff: outcome of %s not reported after %d attempts: %s", item[0],
                    ATTEMPTS, exc)
        client.shared.note_unreported(*item)


def _refused(refusals: dict[str, str]) -> None:
    for action_id, reason in refusals.items():  # e.g. 409: reported meanwhile; not retried
        log.warning("signoff: outcome of %s refused: %s", action_id, reason)


class OutcomeSender:
    """A daemon thread that reports outcomes for one ``Client``; it exits when idle."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._items: deque[Item] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._flushing = 0  # flushes waiting: send at once, no lingering
        _SENDERS.add(self)

    def submit(self, action_id: str, status: str, detail: str) -> None:
        with self._cond:
            self._items.append((action_id, status, detail))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="signoff-outcomes",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued outcome was sent (or given up on); ``False`` on timeout."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._items, timeout)
            finally:
                self._flushing -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._items:
                    self._cond.wait(IDLE_SECONDS)
                if not self._items:
                    self._thread = None  # a later submit starts a new thread
                    return
                self._cond.wait_for(lambda: len(self._items) >= BATCH or self._flushing > 0,
                                    LINGER)
                batch = list(itertools.islice(self._items, BATCH))
            self._deliver(batch)
            with self._cond:
                for _ in batch:
                    self._items.popleft()
                self._cond.notify_all()

    def _deliver(self, batch: list[Item]) -> None:
        for attempt in range(ATTEMPTS):
            try:
                _refused(self._client.send_outcomes(batch))
                return
            except Unavailable as exc:  # includes OutcomeUnknown: send_outcomes reconciled
                if attempt + 1 == ATTEMPTS:
                    _given_up(self._client, batch, exc)
                    return
                time.sleep(BACKOFF * 2 ** attempt)
            except SignoffError as exc:  # the batch itself refused (401, 422): not retried
                log.warning("signoff: %d outcome(s) refused: %s", len(batch), exc)
                return
            except Exception:  # never let the sender die with reports still queued
                log.exception("signoff: %d outcome(s) could not be sent", len(batch))
                return


class AsyncOutcomeSender:
    """An asyncio task that reports outcomes for one ``AsyncClient``; it ends when idle.

    The task lives on the loop of the latest ``submit``; a report left behind by a loop that was
    closed meanwhile is picked up by the next loop's task, or sent at interpreter exit.
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._items: deque[Item] = deque()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._flushing = 0
        _ASYNC_SENDERS.add(self)

    def submit(self, action_id: str, status: str, detail: str) -> None:
        self._items.append((action_id, status, detail))
        self._ensure()

    def pending(self) -> int:
        return len(self._items)

    def _ensure(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="signoff-outcomes")
        assert self._wake is not None
        self._wake.set()

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued outcome was sent (or given up on); ``False`` on timeout."""
        if not self._items:
            return True
        self._flushing += 1
        try:
            self._ensure()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._items:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(0.002)
            return True
        finally:
            self._flushing -= 1

    async def close(self, timeout: float | None) -> None:
        await self.flush(timeout)
        task, self._task = self._task, None
        if task is not None and not task.done() and self._loop is asyncio.get_running_loop():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            while self._items:
                if len(self._items) < BATCH and not self._flushing:
                    await asyncio.sleep(LINGER)  # let the caller's next reports join
                batch = list(itertools.islice(self._items, BATCH))
                await self._deliver(batch)
                for item in batch:
                    if self._items and self._items[0] is item:
                        self._items.popleft()
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), IDLE_SECONDS)
            except TimeoutError:
                if not self._items:
                    return

    async def _deliver(self, batch: list[Item]) -> None:
        for attempt in range(ATTEMPTS):
            try:
                _refused(await self._client.send_outcomes(batch))
                return
            except Unavailable as exc:
                if attempt + 1 == ATTEMPTS:
                    _given_up(self._client, batch, exc)
                    return
                await asyncio.sleep(BACKOFF * 2 ** attempt)
            except SignoffError as exc:
                log.warning("signoff: %d outcome(s) refused: %s", len(batch), exc)
                return
            except Exception:
                log.exception("signoff: %d outcome(s) could not be sent", len(batch))
                return

    def drain_blocking(self) -> None:
        """At interpreter exit (no loop left): send what is still queued with a sync client."""
        if not self._items:
            return
        if isinstance(self._client.shared.settings.transport, httpx.AsyncBaseTransport):
            for item in self._items:
                _given_up(self._client, item, Unavailable("the event loop is gone"))
            self._items.clear()
            return
        from signoff.client.sync import Client

        with Client(_shared=self._client.shared) as sync:
            while self._items:
                item = self._items.popleft()
                try:
                    sync.report_outcome(*item)
                except SignoffError as exc:
                    log.warning("signoff: outcome of %s not reported at exit: %s", item[0], exc)


_SENDERS: weakref.WeakSet[OutcomeSender] = weakref.WeakSet()
_ASYNC_SENDERS: weakref.WeakSet[AsyncOutcomeSender] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for sender in list(_SENDERS):
        if sender.pending() and not sender.flush(EXIT_TIMEOUT):
            log.warning("signoff: %d outcome(s) not reported before exit", sender.pending())
    for asender in list(_ASYNC_SENDERS):
        try:
            asender.drain_blocking()
        except Exception:  # interpreter shutdown: log, never raise
            log.exception("signoff: outcomes not reported at exit")
