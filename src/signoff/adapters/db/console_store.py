"""SQL for the console: its session table and the read models of the dashboard and audit view.

Kept beside the core repositories (same connection, same transaction as the unit of work that
hands it over) so a session and its ``auth.signin`` event commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.action_repositories import audit_row
from signoff.adapters.db.tables_console import console_sessions
from signoff.domain.actions import ActionStatus

__all__ = ["SqlConsoleReads", "SqlSessionRepository"]

_PENDING = ActionStatus.PENDING.value


class SqlSessionRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def add(self, *, id_hash: str, user_id: str, csrf_token: str, auth_method: str,
            created_at: datetime, expires_at: datetime, ip: str, user_agent: str) -> None:
        self.conn.execute(console_sessions.insert().values(
            id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, auth_method=auth_method,
            created_at=created_at, last_seen_at=created_at, expires_at=expires_at,
            ip=ip[:64], user_agent=user_agent[:300]))

    def get(self, id_hash: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(console_sessions)
                                .where(console_sessions.c.id_hash == id_hash)).first()
        return dict(row._mapping) if row else None

    def touch(self, id_hash: str, at: datetime) -> None:
        self.conn.execute(console_sessions.update()
                          .where(console_sessions.c.id_hash == id_hash).values(last_seen_at=at))

    def delete(self, id_hash: str) -> None:
        self.conn.execute(console_sessions.delete().where(console_sessions.c.id_hash == id_hash))

    def delete_for_user(self, user_id: str) -> int:
        return self.conn.execute(console_sessions.delete()
                                 .where(console_sessions.c.user_id == user_id)).rowcount


class SqlConsoleReads:
    """Aggregates for the inbox counters, the owner dashboard and the audit search."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def inbox_rows(self, *, user_id: str, workflow: str | None = None,
                   agent_id: str | None = None, tier: str | None = None, limit: int = 50
                   ) -> tuple[list[dict[str, Any]], int, int]:
        """Pending actions whose resolved pool names ``user_id`` and that they have not yet
        decided, most urgent first (tier, escalation, expiry); with the total and escalated.

        The pool is matched as the quoted id inside the stored JSON, in SQL, so the database
        sorts and limits; callers re-check the pool of the rows they show.
        """
        a, r = t.actions, t.reviews
        where = [a.c.status == _PENDING,
                 sa.cast(a.c.eligible, sa.Text).contains(f'"{user_id}"', autoescape=True),
                 ~sa.exists().where(r.c.action_id == a.c.id, r.c.reviewer_id == user_id,
                                    r.c.stage == "pre")]
        if workflow:
            where.append(a.c.workflow == workflow)
        if agent_id:
            where.append(a.c.agent_id == agent_id)
        if tier:
            where.append(a.c.tier == tier)
        rank = sa.case({"critical": 4, "high": 3, "medium": 2, "low": 1}, value=a.c.tier,
                       else_=0)
        stmt = sa.select(a.c.id, a.c.agent_id, a.c.workflow, a.c.kind, a.c.target,
                         sa.func.substr(a.c.summary, 1, 400).label("summary"),
                         sa.func.length(a.c.summary).label("summary_len"), a.c.tier,
                         a.c.eligible, a.c.created_at, a.c.expires_at, a.c.escalated_at
                         ).where(*where).order_by(
            rank.desc(), a.c.escalated_at.is_(None), a.c.expires_at.is_(None),
            a.c.expires_at, a.c.id).limit(limit)
        rows = [dict(x._mapping) for x in self.conn.execute(stmt)]
        total, escalated = self.conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case(
                (a.c.escalated_at.is_not(None), 1), else_=0)), 0)).where(*where)).one()
        return rows, int(total), int(escalated)

    def approvals_by_action(self, action_ids: Sequence[str]) -> dict[str, int]:
        if not action_ids:
            return {}
        r = t.reviews
        rows = self.conn.execute(
            sa.select(r.c.action_id, sa.func.count()).where(
                r.c.action_id.in_(list(action_ids)), r.c.stage == "pre",
                r.c.verdict == "approve").group_by(r.c.action_id))
        return {a: n for a, n in rows}

    def post_review_open(self, limit: int = 5000) -> list[dict[str, Any]]:
        """Sampled actions still waiting for their after-the-fact review, oldest first: only
        what deciding who may review them needs (``ix_actions_post_review_open``)."""
        a = t.actions
        sampled: sa.ColumnElement[Any] = a.c.post_review.is_(True)
        if self.conn.dialect.name == "sqlite":
            # SQLite's statistics know no value is rare (nearly nothing is sampled) and would
            # scan every action (110 ms on 100,000); unlikely() makes it take the index. (No
            # Boolean type on it: SQLAlchemy would then add "= 1", which hides the index.)
            sampled = sa.func.unlikely(sampled)
        stmt = sa.select(a.c.id, a.c.workflow, a.c.eligible, a.c.requirements).where(
            sampled, a.c.post_review_verdict.is_(None)).order_by(a.c.created_at, a.c.id
                                                                 ).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def counts_by_workflow(self, workflows: Sequence[str] | None, since: datetime
                           ) -> list[dict[str, Any]]:
        """Per workflow and tier: pending now, pending and escalated now, SLA breaches since
        ``since`` (escalated, whatever became of them, or expired undecided), expired."""
        a = t.actions
        pending = sa.and_(a.c.status == _PENDING)
        expired = sa.and_(a.c.status == ActionStatus.EXPIRED.value, a.c.decided_at >= since)
        stmt = sa.select(
            a.c.workflow, a.c.tier,
            sa.func.sum(sa.case((pending, 1), else_=0)).label("pending"),
            sa.func.sum(sa.case((sa.and_(pending, a.c.escalated_at.is_not(None)), 1),
                                else_=0)).label("escalated"),
            sa.func.sum(sa.case((sa.or_(a.c.escalated_at >= since, expired), 1),
                                else_=0)).label("breached"),
            sa.func.sum(sa.case((expired, 1), else_=0)).label("expired"),
        ).where(sa.or_(a.c.status == _PENDING, a.c.decided_at >= since))
        if workflows is not None:
            stmt = stmt.where(a.c.workflow.in_(list(workflows)))
        stmt = stmt.group_by(a.c.workflow, a.c.tier)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def decisions(self, workflows: Sequence[str] | None, since: datetime, limit: int = 50_000
                  ) -> list[dict[str, Any]]:
        """Pre-action reviews since ``since``: who, where, verdict, first view and decision."""
        r, a = t.reviews, t.actions
        stmt = sa.select(r.c.reviewer_id, a.c.workflow, r.c.verdict, r.c.first_viewed_at,
                         r.c.decided_at).join(a, a.c.id == r.c.action_id).where(
            r.c.stage == "pre", r.c.decided_at >= since)
        if workflows is not None:
            stmt = stmt.where(a.c.workflow.in_(list(workflows)))
        stmt = stmt.order_by(r.c.decided_at.desc()).limit(limit)
        return [dict(x._mapping) for x in self.conn.execute(stmt)]

    def flagged(self, workflows: Sequence[str] | None, limit: int = 50) -> list[dict[str, Any]]:
        r, a = t.reviews, t.actions
        stmt = sa.select(a.c.id, a.c.workflow, a.c.kind, a.c.target, r.c.reviewer_id,
                         r.c.rationale.label("note"), r.c.decided_at).join(
            a, a.c.id == r.c.action_id).where(r.c.stage == "post", r.c.verdict == "flag")
        if workflows is not None:
            stmt = stmt.where(a.c.workflow.in_(list(workflows)))
        stmt = stmt.order_by(r.c.decided_at.desc()).limit(limit)
        return [dict(x._mapping) for x in self.conn.execute(stmt)]

    def outcomes_for(self, action_ids: Sequence[str]) -> dict[str, str]:
        if not action_ids:
            return {}
        o = t.outcomes
        return {a: s for a, s in self.conn.execute(
            sa.select(o.c.action_id, o.c.status).where(o.c.action_id.in_(list(action_ids))))}

    def search_events(self, *, type_prefix: str | None = None, actor: str | None = None,
                      action_id: str | None = None, workflow: str | None = None,
                      text: str | None = None, before: int | None = None, limit: int = 100
                      ) -> list[dict[str, Any]]:
        e = t.audit_events
        stmt = sa.select(e)
        if type_prefix:
            stmt = stmt.where(e.c.type.startswith(type_prefix, autoescape=True))
        if actor:
            stmt = stmt.where(e.c.actor == actor)
        if action_id:
            stmt = stmt.where(e.c.action_id == action_id)
        if workflow:
            stmt = stmt.where(e.c.workflow == workflow)
        if text:
            stmt = stmt.where(e.c.body.contains(text, autoescape=True))
        if before:
            stmt = stmt.where(e.c.seq < before)
        stmt = stmt.order_by(e.c.seq.desc()).limit(limit)
        return [audit_row(r) for r in self.conn.execute(stmt)]

    # --- notices (services/notices.py) ---------------------------------------------------

    def notice_events(self, types: Sequence[str], since: datetime, needles: Sequence[str],
                      limit: int = 500) -> list[dict[str, Any]]:
        """Events of ``types`` since ``since`` whose body quotes one of ``needles`` (an id or
        an email), newest first.

        One query per type, each walking ``ix_audit_type_seq`` backwards: with ``type IN``
        SQLite scanned the whole chain instead (25 ms on 100,000 events, on every page).
        """
        e = t.audit_events
        quoted = [e.c.body.contains(f'"{n}"', autoescape=True) for n in needles if n]
        if not quoted:
            return []
        rows = []
        for type_ in types:
            stmt = sa.select(e).where(e.c.type == type_, e.c.at >= since, sa.or_(*quoted)
                                      ).order_by(e.c.seq.desc()).limit(limit)
            rows += [{**audit_row(r), "workflow": r.workflow} for r in self.conn.execute(stmt)]
        return sorted(rows, key=lambda r: r["seq"], reverse=True)[:limit]

    def acknowledged(self, actor: str, since: datetime) -> set[int]:
        e = t.audit_events
        stmt = sa.select(e).where(e.c.type == "notification.acknowledged", e.c.actor == actor,
                                  e.c.at >= since)
        seen: set[int] = set()
        for r in self.conn.execute(stmt):
            seen.update(int(s) for s in audit_row(r)["data"].get("events", []))
        return seen
