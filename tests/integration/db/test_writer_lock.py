"""SQLite writers of several processes queue on one file lock, and never wait forever."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from signoff.adapters.db.writer_lock import SqliteWriterLock
from signoff.errors import Unavailable


def test_a_second_holder_waits_then_gets_the_lock(tmp_path: Path) -> None:
    # Two instances open the file separately, as two processes would.
    first, second = (SqliteWriterLock(tmp_path / "db-writer.lock") for _ in range(2))
    first.acquire()
    got: list[float] = []

    def take() -> None:
        second.acquire()
        got.append(time.monotonic())
        second.release()

    waiter = threading.Thread(target=take)
    waiter.start()
    time.sleep(0.2)
    assert not got  # still queued behind the first holder
    released = time.monotonic()
    first.release()
    waiter.join(5)
    assert got and got[0] - released < 0.1


def test_waiting_is_bounded(tmp_path: Path) -> None:
    holder = SqliteWriterLock(tmp_path / "db-writer.lock")
    impatient = SqliteWriterLock(tmp_path / "db-writer.lock", timeout=0.3)
    holder.acquire()
    t0 = time.monotonic()
    with pytest.raises(Unavailable):
        impatient.acquire()
    assert 0.25 < time.monotonic() - t0 < 2
    holder.release()
    impatient.acquire()  # and it is usable afterwards
    impatient.release()


def test_reentrant_in_one_thread(tmp_path: Path) -> None:
    lock, other = (SqliteWriterLock(tmp_path / "db-writer.lock", timeout=0.2) for _ in range(2))
    lock.acquire()
    lock.acquire()
    lock.release()
    with pytest.raises(Unavailable):  # the file lock is still held by the outer acquire
        other.acquire()
    lock.release()
    other.acquire()
    other.release()
