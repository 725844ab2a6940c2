"""Repositories for actions, reviews, grants, outcomes and audit events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from signoff.adapters.db import tables as t
from signoff.adapters.db.base import Repository
from signoff.adapters.db.driver import JoinedSelect, insert_statement, joined_select
from signoff.adapters.db.engine import insert_ignore
from signoff.domain.actions import Action, ActionRequest, ActionStatus, Impact, InputRef
from signoff.domain.approvals import Review
from signoff.domain.grants import Grant
from signoff.services.ports import DuplicateIdempotencyKey

__all__ = ["SqlActionRepository", "SqlAuditRepository", "SqlGrantRepository",
           "SqlOutcomeRepository", "SqlReviewRepository", "audit_row"]


_ACTION_STATE_COLUMNS = ("status", "tier", "mode", "reasons", "requirements", "eligible",
                         "expires_at", "escalate_at", "escalated_at", "decided_at",
                         "post_review", "post_review_verdict")


class SqlActionRepository(Repository):
    def add(self, a: Action) -> None:
        values = _action_row(a)
        key = a.request.idempotency_key
        if key and self._pg:
            # The insert waits to leave with the commit (write_behind.py); a key this agent
            # already used then fails on the unique constraint, which stands for this error,
            # and the caller answers with the first action. Nothing else of the transaction
            # is needed after that, so no savepoint is either.
            insert_statement(t.actions, tuple(values), self.conn.dialect).execute(
                self.conn, values, conflict=(_IDEMPOTENCY, lambda: DuplicateIdempotencyKey(key)))
            return
        if key:
            # ON CONFLICT DO NOTHING: a key this agent already used inserts nothing, raises
            # nothing (the transaction stays usable), and the caller answers with the first.
            if not self._insert_row_unless(t.actions, values, ("agent_id", "idempotency_key")):
                raise DuplicateIdempotencyKey(key)
            return
        self._insert_row(t.actions, values)

    def get(self, action_id: str, *, for_update: bool = False) -> Action | None:
        row = self._one(t.actions, "id", action_id, for_update)
        return _action(row) if row else None

    def get_with_grant(self, action_id: str, *, for_update: bool = False
                       ) -> tuple[Action, Grant | None] | None:
        """An action and its grant in one statement; ``for_update`` locks the action row."""
        return self.each_with_grant([action_id], for_update=for_update)[0]

    def each_with_grant(self, action_ids: Sequence[str], *, for_update: bool = False
                        ) -> list[tuple[Action, Grant | None] | None]:
        """:meth:`get_with_grant` for each id, in the order given (rows are locked in that
        order); on PostgreSQL all in one round trip."""
        found = _with_grant(self.conn.dialect, for_update and self._pg).first_parts_each(
            self.conn, [{"key": a} for a in action_ids])
        return [None if f is None else (_action(f[0]), _grant(f[1]) if f[1] else None)
                for f in found]

    def by_idempotency_key(self, agent_id: str, key: str) -> Action | None:
        row = self.conn.execute(sa.select(t.actions).where(
            t.actions.c.agent_id == agent_id, t.actions.c.idempotency_key == key)).first()
        return _action(row) if row else None

    def save(self, a: Action) -> None:
        values = {c: getattr(a, c) for c in _ACTION_STATE_COLUMNS}
        values["status"] = a.status.value
        self._update(t.actions, "id", a.id, **values)

    def pending_for_agent(self, agent_id: str) -> list[Action]:
        return [_action(r) for r in self.conn.execute(sa.select(t.actions).where(
            t.actions.c.agent_id == agent_id, t.actions.c.status == ActionStatus.PENDING.value))]

    def list(self, *, statuses: Sequence[str] | None = None, agent_id: str | None = None,
             workflow: str | None = None, limit: int = 100, before: str | None = None,
             ids: Sequence[str] | None = None) -> list[Action]:
        stmt = sa.select(t.actions)
        if statuses:
            stmt = stmt.where(t.actions.c.status.in_(list(statuses)))
        if agent_id:
            stmt = stmt.where(t.actions.c.agent_id == agent_id)
        if workflow:
            stmt = stmt.where(t.actions.c.workflow == workflow)
        if ids is not None:
            stmt = stmt.where(t.actions.c.id.in_(list(ids)))
        if before:
            pivot = sa.select(t.actions.c.created_at).where(t.actions.c.id == before) \
                .scalar_subquery()
            stmt = stmt.where(sa.or_(t.actions.c.created_at < pivot,
                                     sa.and_(t.actions.c.created_at == pivot,
                                             t.actions.c.id < before)))
        stmt = stmt.order_by(t.actions.c.created_at.desc(), t.actions.c.id.desc()).limit(limit)
        return [_action(r) for r in self.conn.execute(stmt)]

    def overdue(self, now: datetime, *, limit: int = 500) -> list[str]:
        return list(self.conn.execute(sa.select(t.actions.c.id).where(
            t.actions.c.status == ActionStatus.PENDING.value, t.actions.c.expires_at <= now)
            .limit(limit)).scalars())

    def due_for_escalation(self, now: datetime, *, limit: int = 500) -> list[str]:
        return list(self.conn.execute(sa.select(t.actions.c.id).where(
            t.actions.c.status == ActionStatus.PENDING.value, t.actions.c.escalated_at.is_(None),
            t.actions.c.escalate_at <= now).limit(limit)).scalars())

    def recent_similar(self, *, agent_id: str, kind: str, exclude: str, limit: int = 10
                       ) -> list[Action]:
        return [_action(r) for r in self.conn.execute(sa.select(t.actions).where(
            t.actions.c.agent_id == agent_id, t.actions.c.kind == kind, t.actions.c.id != exclude)
            .order_by(t.actions.c.created_at.desc()).limit(limit))]

    def count_by_status(self) -> dict[str, int]:
        return {s: n for s, n in self.conn.execute(
            sa.select(t.actions.c.status, sa.func.count()).group_by(t.actions.c.status))}

    def post_review_queue(self, *, limit: int = 100) -> list[Action]:
        return [_action(r) for r in self.conn.execute(sa.select(t.actions).where(
            t.actions.c.post_review.is_(True), t.actions.c.post_review_verdict.is_(None))
            .order_by(t.actions.c.created_at).limit(limit))]


_IDEMPOTENCY = "uq_actions_agent_idempotency"


def _with_grant(dialect: sa.Dialect, lock: bool) -> JoinedSelect:
    def build(columns: list[Any]) -> Any:
        stmt = sa.select(*columns).select_from(
            t.actions.outerjoin(t.grants, t.grants.c.action_id == t.actions.c.id)).where(
            t.actions.c.id == sa.bindparam("key"))
        # Only the action is locked: FOR UPDATE cannot reach the nullable side of a join.
        return stmt.with_for_update(of=t.actions) if lock else stmt

    return joined_select(f"action_with_grant{'_locked' if lock else ''}", dialect, build,
                         [t.actions, t.grants], {"key": t.actions.c.id.type})


def _action(row: Any) -> Action:
    impact = row.impact or {}
    request = ActionRequest(
        workflow=row.workflow, kind=row.kind, target=row.target, params=row.params,
        summary=row.summary,
        inputs=tuple(InputRef(source=i.get("source", ""), ref=i.get("ref", ""),
                              excerpt=i.get("excerpt", "")) for i in row.inputs),
        impact=Impact(reversible=impact.get("reversible", True),
                      external=impact.get("external", False),
                      description=impact.get("description", "")),
        on_behalf_of=row.on_behalf_of, parent_id=row.parent_id, chain=tuple(row.chain),
        idempotency_key=row.idempotency_key)
    return Action(
        id=row.id, agent_id=row.agent_id, request=request, digest=row.digest,
        status=ActionStatus(row.status), tier=row.tier, mode=row.mode, reasons=list(row.reasons),
        requirements=dict(row.requirements), eligible=list(row.eligible),
        policy_version=row.policy_version, created_at=row.created_at, expires_at=row.expires_at,
        escalate_at=row.escalate_at, escalated_at=row.escalated_at, decided_at=row.decided_at,
        post_review=row.post_review, post_review_verdict=row.post_review_verdict,
        agent_owner_id=row.agent_owner_id)


class SqlReviewRepository(Repository):
    def add(self, r: Review) -> None:
        self.conn.execute(t.reviews.insert(), dict(
            id=r.id, action_id=r.action_id, reviewer_id=r.reviewer_id, stage=r.stage,
            verdict=r.verdict, rationale=r.rationale, first_viewed_at=r.first_viewed_at,
            decided_at=r.decided_at, auth_method=r.auth_method))

    def for_action(self, action_id: str) -> list[Review]:
        return [Review(id=r.id, action_id=r.action_id, reviewer_id=r.reviewer_id,
                       verdict=r.verdict, rationale=r.rationale,
                       first_viewed_at=r.first_viewed_at, decided_at=r.decided_at,
                       stage=r.stage, auth_method=r.auth_method)
                for r in self.conn.execute(sa.select(t.reviews)
                                           .where(t.reviews.c.action_id == action_id)
                                           .order_by(t.reviews.c.decided_at))]

    def first_view(self, action_id: str, reviewer_id: str) -> datetime | None:
        return self.conn.execute(sa.select(t.review_views.c.first_viewed_at).where(
            t.review_views.c.action_id == action_id,
            t.review_views.c.reviewer_id == reviewer_id)).scalar()

    def record_view(self, action_id: str, reviewer_id: str, at: datetime) -> bool:
        return insert_ignore(self.conn, t.review_views,
                             {"action_id": action_id, "reviewer_id": reviewer_id,
                              "first_viewed_at": at}, ["action_id", "reviewer_id"])

    def decided_by(self, reviewer_id: str, action_ids: Sequence[str]) -> set[str]:
        return set(self.conn.execute(sa.select(t.reviews.c.action_id).where(
            t.reviews.c.reviewer_id == reviewer_id, t.reviews.c.stage == "pre",
            t.reviews.c.action_id.in_(list(action_ids)))).scalars())

    def views(self, action_id: str) -> list[tuple[str, datetime]]:
        return [(r.reviewer_id, r.first_viewed_at) for r in self.conn.execute(
            sa.select(t.review_views).where(t.review_views.c.action_id == action_id))]


class SqlGrantRepository(Repository):
    def add(self, g: Grant, *, agent_id: str, workflow: str) -> None:
        self._insert_row(t.grants, dict(
            jti=g.jti, action_id=g.action_id, agent_id=agent_id, workflow=workflow,
            token=g.token, digest=g.digest, kid=g.kid, issued_at=g.issued_at,
            expires_at=g.expires_at, redeemed_at=g.redeemed_at, redeemed_by=g.redeemed_by,
            revoke_reason=""))

    def get(self, jti: str, *, for_update: bool = False) -> Grant | None:
        row = self._one(t.grants, "jti", jti, for_update)
        return _grant(row) if row else None

    def for_action(self, action_id: str) -> Grant | None:
        row = self._one(t.grants, "action_id", action_id)
        return _grant(row) if row else None

    def save(self, g: Grant) -> None:
        self.conn.execute(t.grants.update().where(t.grants.c.jti == g.jti).values(
            redeemed_at=g.redeemed_at, redeemed_by=g.redeemed_by, revoked_at=g.revoked_at,
            revoke_reason=g.revoke_reason))

    def redeem_once(self, jti: str, *, at: datetime, by: str) -> bool:
        """The atomic single-use step: only one UPDATE can move redeemed_at off NULL."""
        result = self.conn.execute(t.grants.update().where(
            t.grants.c.jti == jti, t.grants.c.redeemed_at.is_(None),
            t.grants.c.revoked_at.is_(None)).values(redeemed_at=at, redeemed_by=by))
        return result.rowcount == 1

    def unredeemed(self, *, agent_id: str | None = None, workflow: str | None = None
                   ) -> list[Grant]:
        stmt = sa.select(t.grants).where(t.grants.c.redeemed_at.is_(None),
                                         t.grants.c.revoked_at.is_(None))
        if agent_id:
            stmt = stmt.where(t.grants.c.agent_id == agent_id)
        if workflow:
            stmt = stmt.where(t.grants.c.workflow == workflow)
        return [_grant(r) for r in self.conn.execute(stmt)]

    def lapsed(self, now: datetime, *, limit: int = 500) -> list[str]:
        return list(self.conn.execute(sa.select(t.grants.c.action_id).where(
            t.grants.c.redeemed_at.is_(None), t.grants.c.revoked_at.is_(None),
            t.grants.c.expires_at <= now).limit(limit)).scalars())


def _grant(row: Any) -> Grant:
    return Grant(jti=row.jti, action_id=row.action_id, token=row.token, digest=row.digest,
                 kid=row.kid, issued_at=row.issued_at, expires_at=row.expires_at,
                 redeemed_at=row.redeemed_at, redeemed_by=row.redeemed_by,
                 revoked_at=row.revoked_at, revoke_reason=row.revoke_reason)


class SqlOutcomeRepository(Repository):
    def add(self, *, action_id: str, status: str, detail: str, reported_by: str,
            at: datetime) -> None:
        self._insert_row(t.outcomes, dict(action_id=action_id, status=status, detail=detail,
                                          reported_by=reported_by, at=at))

    def get(self, action_id: str) -> dict[str, Any] | None:
        row = self._one(t.outcomes, "action_id", action_id)
        if row is None:
            return None
        return {"status": row.status, "detail": row.detail, "reported_by": row.reported_by,
                "at": row.at}


class SqlAuditRepository(Repository):
    def head(self) -> tuple[int, str]:
        row = self.conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)
                                .where(t.audit_head.c.id == 1)).first()
        return (int(row[0]), str(row[1])) if row else (0, "")

    def events(self, *, action_id: str | None = None, after: int = 0, limit: int = 1000
               ) -> list[dict[str, Any]]:
        stmt = sa.select(t.audit_events).where(t.audit_events.c.seq > after)
        if action_id:
            stmt = stmt.where(t.audit_events.c.action_id == action_id)
        stmt = stmt.order_by(t.audit_events.c.seq).limit(limit)
        return [audit_row(r) for r in self.conn.execute(stmt)]


def audit_row(row: Any) -> dict[str, Any]:
    body = json.loads(row.body)
    return {"seq": row.seq, "at": body["at"], "actor": row.actor, "type": row.type,
            "action_id": row.action_id, "data": body.get("data", {}),
            "prev_hash": row.prev_hash, "hash": row.hash}


def _action_row(a: Action) -> dict[str, Any]:
    r = a.request
    return dict(
        id=a.id, agent_id=a.agent_id, agent_owner_id=a.agent_owner_id, workflow=r.workflow,
        kind=r.kind, target=r.target, params=r.params, summary=r.summary,
        inputs=[i.as_dict() for i in r.inputs], impact=r.impact.as_dict(),
        on_behalf_of=r.on_behalf_of, parent_id=r.parent_id, chain=list(r.chain),
        idempotency_key=r.idempotency_key, digest=a.digest, status=a.status.value,
        tier=a.tier, mode=a.mode, reasons=a.reasons, requirements=a.requirements,
        eligible=a.eligible, policy_version=a.policy_version, created_at=a.created_at,
        expires_at=a.expires_at, escalate_at=a.escalate_at, escalated_at=a.escalated_at,
        decided_at=a.decided_at, post_review=a.post_review,
        post_review_verdict=a.post_review_verdict)
