"""The schema, as SQLAlchemy Core tables. Alembic migrations are written against this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("roles", Json, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", UtcDateTime()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

agents = sa.Table(
    "agents", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("scopes", Json, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("subject_kind", sa.String(10), nullable=False),
    sa.Column("subject_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime()),
    sa.Column("revoked_at", UtcDateTime()),
)

workflows = sa.Table(
    "workflows", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("backups", Json, nullable=False),
    sa.Column("groups", Json, nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("frozen", sa.Boolean, nullable=False, default=False),
    sa.Column("frozen_reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

groups = sa.Table(
    "groups", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("members", Json, nullable=False),
)

actions = sa.Table(
    "actions", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("agent_owner_id", sa.String(40), nullable=False),
    sa.Column("workflow", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(200), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("inputs", Json, nullable=False),
    sa.Column("impact", Json, nullable=False),
    sa.Column("on_behalf_of", sa.String(320)),
    sa.Column("parent_id", sa.String(40)),
    sa.Column("chain", Json, nullable=False),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("reasons", Json, nullable=False),
    sa.Column("requirements", Json, nullable=False),
    sa.Column("eligible", Json, nullable=False),
    sa.Column("policy_version", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime()),
    sa.Column("escalate_at", UtcDateTime()),
    sa.Column("escalated_at", UtcDateTime()),
    sa.Column("decided_at", UtcDateTime()),
    sa.Column("post_review", sa.Boolean, nullable=False, default=False),
    sa.Column("post_review_verdict", sa.String(10)),
    sa.UniqueConstraint("agent_id", "idempotency_key", name="uq_actions_agent_idempotency"),
    sa.Index("ix_actions_status_expires", "status", "expires_at"),
    sa.Index("ix_actions_agent_created", "agent_id", "created_at"),
    sa.Index("ix_actions_workflow_status", "workflow", "status"),
    sa.Index("ix_actions_agent_kind_created", "agent_id", "kind", "created_at"),
)

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("action_id", sa.String(40), sa.ForeignKey("actions.id"), nullable=False, index=True),
    sa.Column("reviewer_id", sa.String(40), nullable=False),
    sa.Column("stage", sa.String(10), nullable=False),
    sa.Column("verdict", sa.String(10), nullable=False),
    sa.Column("rationale", sa.Text, nullable=False),
    sa.Column("first_viewed_at", UtcDateTime()),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
    sa.Column("auth_method", sa.String(20), nullable=False),
    sa.UniqueConstraint("action_id", "reviewer_id", "stage", name="uq_reviews_once"),
)

review_views = sa.Table(
    "review_views", metadata,
    sa.Column("action_id", sa.String(40), primary_key=True),
    sa.Column("reviewer_id", sa.String(40), primary_key=True),
    sa.Column("first_viewed_at", UtcDateTime(), nullable=False),
)

grants = sa.Table(
    "grants", metadata,
    sa.Column("jti", sa.String(40), primary_key=True),
    sa.Column("action_id", sa.String(40), sa.ForeignKey("actions.id"), nullable=False, unique=True),
    sa.Column("agent_id", sa.String(40), nullable=False, index=True),
    sa.Column("workflow", sa.String(200), nullable=False, index=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("kid", sa.String(80), nullable=False),
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("redeemed_at", UtcDateTime()),
    sa.Column("redeemed_by", sa.String(80)),
    sa.Column("revoked_at", UtcDateTime()),
    sa.Column("revoke_reason", sa.Text, nullable=False, default=""),
)

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("action_id", sa.String(40), sa.ForeignKey("actions.id"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("reported_by", sa.String(80), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("action_id", sa.String(40)),
    sa.Column("agent_id", sa.String(40)),
    sa.Column("workflow", sa.String(200)),
    sa.Column("body", sa.Text, nullable=False),        # exact canonical bytes that were hashed
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_action_seq", "action_id", "seq"),
    sa.Index("ix_audit_type_seq", "type", "seq"),
    sa.Index("ix_audit_at", "at"),
)

audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
