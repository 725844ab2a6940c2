"""The one composition root: settings in, a wired :class:`Signoff` out.

Entry points (API, console, CLI, MCP gateway) call :func:`build` once and use what it returns;
nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from signoff.adapters.db.uow import WAKE_CHANNEL, SqlUnitOfWork
from signoff.adapters.notify import notifiers_for
from signoff.adapters.passwords import Argon2PasswordHasher
from signoff.adapters.policy import PolicyHolder
from signoff.adapters.policy.wiring import policy_source
from signoff.adapters.signing import Ed25519Signer, load_keys
from signoff.adapters.wakeup import PostgresWakeupListener, SqliteWakeupPoller, WakeupHub
from signoff.config import Settings
from signoff.services.context import Limits, ServiceContext, SystemClock
from signoff.services.delivery import DeliveryOptions
from signoff.services.ports import Notifier
from signoff.services.tokens import TokenCache

__all__ = ["Signoff", "build"]


@dataclass
class Signoff:
    settings: Settings
    engine: sa.Engine
    ctx: ServiceContext
    hub: WakeupHub
    listener: PostgresWakeupListener | SqliteWakeupPoller | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The channels notifications leave by (SIGNOFF_SMTP_URL, SIGNOFF_WEBHOOK_URL); empty:
    # the outbox keeps its rows and the console says none was sent.
    notifiers: list[Notifier] = field(default_factory=list)
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)

    @property
    def channels(self) -> list[str]:
        return [n.channel for n in self.notifiers]

    @property
    def writes_on_loop(self) -> bool:
        """Run hot write use cases on the event loop thread instead of a worker thread.

        True on SQLite: its writes are serialised on one lock anyway, and a worker thread
        holding that lock had to win the GIL back from the loop after every statement, which
        stretched each write to ~1.4 ms of wall time and capped a process near 550 proposals/s
        (on the loop: 720-790/s, bench/bench_core.py). PostgreSQL writes wait on the
        network and run concurrently, so they stay in worker threads.
        """
        return self.engine.dialect.name == "sqlite"

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        self.engine.dispose()


def build(settings: Settings, *, migrate: bool = False, clock: Any = None,
          policy: PolicyHolder | None = None) -> Signoff:
    # SIGNOFF_POLICY or the shipped default (``policy``: a holder handed in by tests and
    # benches); a bad policy file refuses before anything opens.
    source = policy_source(settings, policy)
    url = settings.resolved_database_url
    engine = create_engine(url, pool_size=settings.db_pool_size)
    if migrate:
        upgrade(engine)
    hub = WakeupHub()
    signer = Ed25519Signer(load_keys(settings.keys_dir), issuer=settings.issuer)

    def uow_factory(readonly: bool = False, transaction: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, readonly=readonly, transaction=transaction,
                             on_commit=hub.publish, chain_enabled=settings.audit_chain)

    ctx = ServiceContext(
        uow=uow_factory, policy=source, signer=signer,
        clock=clock or SystemClock(), issuer=settings.issuer,
        limits=Limits(max_params_bytes=settings.max_params_bytes,
                      max_params_depth=settings.max_params_depth,
                      max_text_chars=settings.max_text_chars),
        password_hasher=Argon2PasswordHasher(), notify_pending=settings.notify_pending,
        token_cache=TokenCache())
    listener: PostgresWakeupListener | SqliteWakeupPoller | None = None
    if engine.dialect.name == "postgresql":
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = PostgresWakeupListener(dsn, hub, WAKE_CHANNEL)
    elif engine.url.database and engine.url.database != ":memory:":
        listener = SqliteWakeupPoller(engine.url.database, hub)
    delivery = DeliveryOptions(
        public_url=settings.public_url, max_attempts=settings.notify_max_attempts,
        retry_seconds=settings.notify_retry_seconds,
        max_age_seconds=settings.notify_max_age_hours * 3600, timeout=settings.notify_timeout)
    return Signoff(settings=settings, engine=engine, ctx=ctx, hub=hub, listener=listener,
                   notifiers=list(notifiers_for(settings)), delivery=delivery)
