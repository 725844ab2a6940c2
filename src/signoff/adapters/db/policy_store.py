"""SQL storage for the policy engine: elevations, and shadow decisions read from the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.engine import is_postgres
from signoff.adapters.db.tables_policy import agent_elevations as e
from signoff.domain.elevations import Elevation

__all__ = ["SqlElevationRepository", "SqlShadowRepository"]

_ACTIVE = (sa.select(e).where(e.c.agent_id == sa.bindparam("agent_id"),
                              e.c.revoked_at.is_(None),
                              e.c.starts_at <= sa.bindparam("now"),
                              e.c.ends_at > sa.bindparam("now"))
           .order_by(e.c.ends_at))


def _elevation(row: Any) -> Elevation:
    return Elevation(id=row.id, agent_id=row.agent_id, action_id=row.action_id,
                     workflows=list(row.workflows), kinds=list(row.kinds), reason=row.reason,
                     starts_at=row.starts_at, ends_at=row.ends_at, granted_by=row.granted_by,
                     revoked_at=row.revoked_at, revoked_by=row.revoked_by,
                     ended_at=row.ended_at)


class SqlElevationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, elevation: Elevation) -> None:
        self.conn.execute(e.insert(), dict(
            id=elevation.id, agent_id=elevation.agent_id, action_id=elevation.action_id,
            workflows=list(elevation.workflows), kinds=list(elevation.kinds),
            reason=elevation.reason, granted_by=elevation.granted_by,
            starts_at=elevation.starts_at, ends_at=elevation.ends_at,
            revoked_at=elevation.revoked_at, revoked_by=elevation.revoked_by,
            ended_at=elevation.ended_at))

    def get(self, elevation_id: str, *, for_update: bool = False) -> Elevation | None:
        stmt = sa.select(e).where(e.c.id == elevation_id)
        if for_update and is_postgres(self.conn):
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        return _elevation(row) if row else None

    def save(self, elevation: Elevation) -> None:
        self.conn.execute(e.update().where(e.c.id == elevation.id).values(
            revoked_at=elevation.revoked_at, revoked_by=elevation.revoked_by,
            ended_at=elevation.ended_at))

    def active_for(self, agent_id: str, now: datetime) -> list[Elevation]:
        """In force right now: decided by the clock, not by whether the sweeper ran."""
        return [_elevation(r) for r in self.conn.execute(_ACTIVE,
                                                         {"agent_id": agent_id, "now": now})]

    def for_agent(self, agent_id: str, *, limit: int = 100) -> list[Elevation]:
        stmt = (sa.select(e).where(e.c.agent_id == agent_id)
                .order_by(e.c.starts_at.desc(), e.c.id).limit(limit))
        return [_elevation(r) for r in self.conn.execute(stmt)]

    def due_to_end(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Windows that passed (or were revoked) whose end is not yet on record."""
        stmt = (sa.select(e.c.id).where(e.c.ended_at.is_(None),
                                        sa.or_(e.c.ends_at <= now, e.c.revoked_at.is_not(None)))
                .order_by(e.c.ends_at).limit(limit))
        return [r.id for r in self.conn.execute(stmt)]


class SqlShadowRepository:
    """Shadow decisions as recorded in ``action.submitted`` events (``data.shadow``)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def decisions(self, *, since: datetime | None = None, limit: int = 10_000
                  ) -> list[dict[str, Any]]:
        ev = t.audit_events
        stmt = sa.select(ev.c.seq, ev.c.at, ev.c.action_id, ev.c.agent_id, ev.c.workflow,
                         ev.c.body).where(ev.c.type == "action.submitted")
        if since is not None:
            stmt = stmt.where(ev.c.at >= since)
        # A cheap pre-filter; the body is parsed (defensively) below.
        stmt = stmt.where(ev.c.body.contains('"shadow":')).order_by(ev.c.seq).limit(limit)
        out: list[dict[str, Any]] = []
        for row in self.conn.execute(stmt):
            try:
                body = json.loads(row.body)
            except (TypeError, ValueError):
                continue
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("shadow"), dict):
                continue
            shadow: dict[str, Any] = data["shadow"]
            out.append({"seq": row.seq, "at": row.at, "action_id": row.action_id,
                        "agent_id": row.agent_id, "workflow": row.workflow,
                        "kind": data.get("kind"), "status": data.get("status"),
                        "active": {"tier": data.get("tier"), "mode": data.get("mode"),
                                   "matched_rules": data.get("matched_rules") or [],
                                   "policy_version": data.get("policy_version")},
                        "shadow": shadow})
        return out
