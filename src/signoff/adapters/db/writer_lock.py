"""One SQLite writer at a time, handed over within a millisecond, not by SQLite's busy handler.

SQLite allows one writer; its busy handler makes a waiting writer sleep in growing steps (up to
100 ms), which wrecks latency and throughput as soon as two writers meet. Writers therefore queue
first on a re-entrant lock in this process, then on an exclusive ``flock`` of a file beside the
database, shared by every process on the machine (``signoff serve --workers N``, the CLI), so
``BEGIN IMMEDIATE`` finds SQLite's lock free. SQLite's own busy timeout still covers writers
that do not take this lock.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from signoff.errors import Unavailable

__all__ = ["SqliteWriterLock", "writer_lock_for"]

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process lock and busy timeout remain
    fcntl = None  # type: ignore[assignment]


class SqliteWriterLock:
    """Re-entrant within a thread; the file lock is held while the outermost holder is.

    Waiting is bounded like SQLite's own busy timeout: a writer stuck elsewhere (a stopped
    process, a runaway transaction) turns into a 503 after ``timeout`` seconds instead of a
    server that hangs. The file lock is first asked for without blocking and then re-asked in
    short, growing sleeps (50 µs up to 0.5 ms), since ``flock`` itself has no timeout.
    """

    def __init__(self, path: Path | None, timeout: float = 30.0) -> None:
        self._local = threading.RLock()
        self._depth = 0
        self._timeout = timeout
        self._fd: int | None = None
        if path is not None and fcntl is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._local.acquire(timeout=self._timeout):
            raise Unavailable("the database is busy: another writer held it too long")
        self._depth += 1
        if self._depth == 1 and self._fd is not None:
            try:
                self._lock_file(self._fd, deadline)
            except BaseException:
                self._depth -= 1
                self._local.release()
                raise

    @staticmethod
    def _lock_file(fd: int, deadline: float) -> None:
        delay = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Unavailable("the database is busy: another writer held it too "
                                      "long") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.0005)

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._local.release()


_LOCKS: dict[str, SqliteWriterLock] = {}
_GUARD = threading.Lock()


def writer_lock_for(database: str | None) -> SqliteWriterLock:
    """The process-wide lock for one SQLite database file (in-memory: this process only)."""
    key = os.path.abspath(database) if database and database != ":memory:" else f"mem:{database}"
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            path = Path(key + "-writer.lock") if not key.startswith("mem:") else None
            lock = _LOCKS[key] = SqliteWriterLock(path)
        return lock
