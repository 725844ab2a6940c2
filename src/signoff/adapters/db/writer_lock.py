"""One SQLite writer at a time, queued in the kernel rather than in SQLite's busy handler.

SQLite allows one writer; its busy handler makes a waiting writer sleep in growing steps (up to
100 ms), which wrecks latency and throughput as soon as two writers meet. Writers therefore queue
first on a re-entrant lock in this process, then on an exclusive ``flock`` of a file beside the
database, shared by every process on the machine (``signoff serve --workers N``, the CLI). The
kernel wakes the next writer the moment the lock is released, and ``BEGIN IMMEDIATE`` then finds
SQLite's lock free. SQLite's own busy timeout still covers writers that do not take this lock.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["SqliteWriterLock", "writer_lock_for"]

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process lock and busy timeout remain
    fcntl = None  # type: ignore[assignment]


class SqliteWriterLock:
    """Re-entrant within a thread; the file lock is held while the outermost holder is."""

    def __init__(self, path: Path | None) -> None:
        self._local = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        if path is not None and fcntl is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self) -> None:
        self._local.acquire()
        self._depth += 1
        if self._depth == 1 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            except BaseException:
                self._depth -= 1
                self._local.release()
                raise

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
