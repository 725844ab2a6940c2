"""A fresh PostgreSQL schema, migrated, behind an engine with one pooled connection (so
consecutive units of work share it, prepared statements and all)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from tests.conftest import drop_pg_schema, fresh_pg_schema


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    url = fresh_pg_schema()
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_pg_schema(url)
