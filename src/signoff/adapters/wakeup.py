"""Waking long-poll waiters when an action changes, in this process and in the others.

Waiters are asyncio futures keyed by action id: a waiter holds no database connection. A commit
publishes the changed ids here (thread-safe); on PostgreSQL a listener thread turns NOTIFY from
every process's commits into the same local wake-ups. If the listener loses its connection it
wakes everyone once it is back, so nobody sleeps through a missed notification.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable

import psycopg

__all__ = ["PostgresWakeupListener", "Waiter", "WakeupHub"]

log = logging.getLogger(__name__)


class WakeupHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}

    def publish(self, action_ids: Iterable[str]) -> None:
        with self._lock:
            hits = [w for a in action_ids for w in self._waiters.pop(a, ())]
        for loop, fut in hits:
            loop.call_soon_threadsafe(_resolve, fut)

    def publish_all(self) -> None:
        with self._lock:
            ids = list(self._waiters)
        self.publish(ids)

    @property
    def waiting(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._waiters.values())

    def register(self, action_id: str) -> Waiter:
        """Register before checking the state, so a change in between is not missed."""
        loop = asyncio.get_running_loop()
        entry = (loop, loop.create_future())
        with self._lock:
            self._waiters.setdefault(action_id, set()).add(entry)
        return Waiter(self, action_id, entry)

    def _discard(self, action_id: str, entry: tuple[asyncio.AbstractEventLoop,
                                                    asyncio.Future[None]]) -> None:
        with self._lock:
            bucket = self._waiters.get(action_id)
            if bucket is not None:
                bucket.discard(entry)
                if not bucket:
                    del self._waiters[action_id]


class Waiter:
    def __init__(self, hub: WakeupHub, action_id: str,
                 entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]) -> None:
        self._hub, self._action_id, self._entry = hub, action_id, entry

    async def wait(self, timeout: float) -> bool:
        """Sleep until the action is published or ``timeout`` passes; True when woken."""
        try:
            await asyncio.wait_for(asyncio.shield(self._entry[1]), timeout)
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self._hub._discard(self._action_id, self._entry)

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class PostgresWakeupListener:
    """LISTENs on the wake channel in a daemon thread and feeds the hub."""

    def __init__(self, dsn: str, hub: WakeupHub, channel: str) -> None:
        self._dsn = dsn
        self._hub = hub
        self._channel = channel
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="signoff-listen", daemon=True)

    def start(self, wait: float = 5.0) -> None:
        self._thread.start()
        self._ready.wait(wait)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{self._channel}"')
                    self._ready.set()
                    self._hub.publish_all()  # anything missed while we were away
                    backoff = 0.1
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._hub.publish([note.payload])
            except psycopg.Error as exc:
                log.warning("wake-up listener lost its connection: %s", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
