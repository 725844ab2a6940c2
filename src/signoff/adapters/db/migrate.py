"""Run Alembic migrations from code (``signoff init``, ``signoff db upgrade``, tests)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from signoff.adapters.db import tables as t

__all__ = ["alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` and make sure the audit head row exists."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    with engine.begin() as conn:
        exists = conn.execute(sa.select(t.audit_head.c.id).where(t.audit_head.c.id == 1)).first()
        if exists is None:
            from signoff.domain.audit import GENESIS_HASH
            conn.execute(t.audit_head.insert().values(id=1, seq=0, hash=GENESIS_HASH))
