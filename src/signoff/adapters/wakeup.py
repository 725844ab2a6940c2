"""Waking long-poll waiters when an action changes, in this process and in the others.

Waiters are asyncio futures keyed by action id: a waiter holds no database connection. A commit
publishes the changed ids here (thread-safe); on PostgreSQL a listener thread turns NOTIFY from
every process's commits into the same local wake-ups. If the listener loses its connection it
wakes everyone once it is back, so nobody sleeps through a missed notification. SQLite has no
NOTIFY: a poller thread watches the audit chain's head (every change writes an audit event)
and wakes the waiters of the actions named by events other processes committed — a second
`serve --workers` process, or the CLI suspending an agent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterable

import psycopg

__all__ = ["PostgresWakeupListener", "SqliteWakeupPoller", "Waiter", "WakeupHub"]

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


class SqliteWakeupPoller:
    """Every ``interval`` seconds, read the audit head; wake waiters of actions changed since.

    Costs one indexed read per interval while nobody waits. Events this process committed
    itself are published again, which is harmless: a woken waiter re-checks the state.
    """

    def __init__(self, path: str, hub: WakeupHub, interval: float = 0.02) -> None:
        self._path = path
        self._hub = hub
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="signoff-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def _run(self) -> None:
        last: int | None = None
        while not self._stop.is_set():
            try:
                uri = "file:" + urllib.parse.quote(os.path.abspath(self._path)) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=5)
                try:
                    while not self._stop.wait(self._interval):
                        last = self._poll(conn, last)
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                log.warning("wake-up poller: %s", exc)
                self._hub.publish_all()  # we may have missed changes: everyone re-checks
                last = None
                self._stop.wait(1.0)

    def _poll(self, conn: sqlite3.Connection, last: int | None) -> int:
        row = conn.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()
        head = int(row[0]) if row else 0
        if last is not None and head > last and self._hub.waiting:
            ids = [r[0] for r in conn.execute(
                "SELECT DISTINCT action_id FROM audit_events WHERE seq > ? AND seq <= ? "
                "AND action_id IS NOT NULL", (last, head))]
            if ids:
                self._hub.publish(ids)
        return head
