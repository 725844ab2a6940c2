"""core schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 03:14:43.270719
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import signoff.adapters.db.tables as t

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('subject_kind', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_subject_id'), ['subject_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('action_id', sa.String(length=40), nullable=True),
    sa.Column('agent_id', sa.String(length=40), nullable=True),
    sa.Column('workflow', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_action_seq', ['action_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_type_seq', ['type', 'seq'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('groups',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('members', t.Json, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_groups_name'))
    )
    op.create_table('review_views',
    sa.Column('action_id', sa.String(length=40), nullable=False),
    sa.Column('reviewer_id', sa.String(length=40), nullable=False),
    sa.Column('first_viewed_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('action_id', 'reviewer_id', name=op.f('pk_review_views'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('roles', t.Json, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('agents',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=False),
    sa.Column('scopes', t.Json, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('labels', t.Json, nullable=False),
    sa.Column('created_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_agents_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('name', name=op.f('uq_agents_name'))
    )
    op.create_table('workflows',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=False),
    sa.Column('backups', t.Json, nullable=False),
    sa.Column('groups', t.Json, nullable=False),
    sa.Column('labels', t.Json, nullable=False),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('frozen_reason', sa.Text(), nullable=False),
    sa.Column('created_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_workflows_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('name', name=op.f('uq_workflows_name'))
    )
    op.create_table('actions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('agent_id', sa.String(length=40), nullable=False),
    sa.Column('agent_owner_id', sa.String(length=40), nullable=False),
    sa.Column('workflow', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=200), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('params', t.Json, nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('inputs', t.Json, nullable=False),
    sa.Column('impact', t.Json, nullable=False),
    sa.Column('on_behalf_of', sa.String(length=320), nullable=True),
    sa.Column('parent_id', sa.String(length=40), nullable=True),
    sa.Column('chain', t.Json, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('reasons', t.Json, nullable=False),
    sa.Column('requirements', t.Json, nullable=False),
    sa.Column('eligible', t.Json, nullable=False),
    sa.Column('policy_version', sa.String(length=100), nullable=False),
    sa.Column('created_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('escalate_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('post_review', sa.Boolean(), nullable=False),
    sa.Column('post_review_verdict', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_actions_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions')),
    sa.UniqueConstraint('agent_id', 'idempotency_key', name='uq_actions_agent_idempotency')
    )
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.create_index('ix_actions_agent_created', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_actions_agent_kind_created', ['agent_id', 'kind', 'created_at'], unique=False)
        batch_op.create_index('ix_actions_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_actions_workflow_status', ['workflow', 'status'], unique=False)

    op.create_table('grants',
    sa.Column('jti', sa.String(length=40), nullable=False),
    sa.Column('action_id', sa.String(length=40), nullable=False),
    sa.Column('agent_id', sa.String(length=40), nullable=False),
    sa.Column('workflow', sa.String(length=200), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('kid', sa.String(length=80), nullable=False),
    sa.Column('issued_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('redeemed_by', sa.String(length=80), nullable=True),
    sa.Column('revoked_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_grants_action_id_actions')),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_grants')),
    sa.UniqueConstraint('action_id', name=op.f('uq_grants_action_id'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_workflow'), ['workflow'], unique=False)

    op.create_table('outcomes',
    sa.Column('action_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('reported_by', sa.String(length=80), nullable=False),
    sa.Column('at', t.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_outcomes_action_id_actions')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_outcomes'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('action_id', sa.String(length=40), nullable=False),
    sa.Column('reviewer_id', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('first_viewed_at', t.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', t.UtcDateTime(timezone=True), nullable=False),
    sa.Column('auth_method', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_reviews_action_id_actions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('action_id', 'reviewer_id', 'stage', name='uq_reviews_once')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_action_id'), ['action_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_action_id'))

    op.drop_table('reviews')
    op.drop_table('outcomes')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_workflow'))
        batch_op.drop_index(batch_op.f('ix_grants_agent_id'))

    op.drop_table('grants')
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index('ix_actions_workflow_status')
        batch_op.drop_index('ix_actions_status_expires')
        batch_op.drop_index('ix_actions_agent_kind_created')
        batch_op.drop_index('ix_actions_agent_created')

    op.drop_table('actions')
    op.drop_table('workflows')
    op.drop_table('agents')
    op.drop_table('users')
    op.drop_table('review_views')
    op.drop_table('groups')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_type_seq')
        batch_op.drop_index('ix_audit_at')
        batch_op.drop_index('ix_audit_action_seq')

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_subject_id'))

    op.drop_table('api_tokens')

