"""Alembic environment: migrations run on the connection signoff hands over (or a URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import signoff.adapters.db.tables_audit  # noqa: F401  (registers the audit tables)
import signoff.adapters.db.tables_console  # noqa: F401  (registers the console tables)
import signoff.adapters.db.tables_notify  # noqa: F401  (registers the notification outbox)
import signoff.adapters.db.tables_policy  # noqa: F401  (registers the policy tables)
from signoff.adapters.db.tables import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
