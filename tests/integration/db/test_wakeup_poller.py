"""SQLite has no NOTIFY: waiters learn of other processes' commits from the audit chain."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from signoff.adapters.db.uow import SqlUnitOfWork
from signoff.adapters.wakeup import SqliteWakeupPoller, WakeupHub
from signoff.domain.audit import AuditEvent


def _commit_event(engine: object, action_id: str) -> None:
    # A unit of work with no hub attached: as if another process (a second worker, the CLI)
    # had made the change.
    with SqlUnitOfWork(engine) as uow:  # type: ignore[arg-type]
        uow.record(AuditEvent(type="action.cancelled", actor="human:usr_x",
                              at=datetime.now(UTC), action_id=action_id, data={}))
        uow.commit()


async def _wait(hub: WakeupHub, action_id: str, timeout: float) -> bool:
    with hub.register(action_id) as waiter:
        return await waiter.wait(timeout)


def test_a_commit_elsewhere_wakes_the_waiter(tmp_path: Path) -> None:
    path = tmp_path / "signoff.db"
    engine = create_engine(f"sqlite:///{path}", pool_size=2)
    upgrade(engine)
    hub = WakeupHub()
    poller = SqliteWakeupPoller(str(path), hub)
    poller.start()

    async def scenario() -> tuple[bool, bool, float]:
        watched = asyncio.create_task(_wait(hub, "act_watched", 5))
        other = asyncio.create_task(_wait(hub, "act_other", 0.5))
        await asyncio.sleep(0.1)  # the poller has seen the head by now
        t0 = time.monotonic()
        await asyncio.to_thread(_commit_event, engine, "act_watched")
        woke = await watched
        return woke, await other, time.monotonic() - t0

    try:
        woke, other_woke, took = asyncio.run(scenario())
    finally:
        poller.stop()
        engine.dispose()
    assert woke and took < 0.5, took
    assert not other_woke  # only the action that changed
