"""Outbox delivery bookkeeping: lanes (order and pacing per channel), claims,
the in-doubt flag for the crash-safe history check, failure count, pacing time.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0005'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('in_doubt', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pace_at', models.types.UTCDateTime(timezone=True), nullable=True))
    # Rows queued before this revision: their lane is their channel, DM user or edited message.
    op.execute(
        "UPDATE outbox SET lane = CASE"
        " WHEN channel IS NOT NULL AND channel <> '' THEN channel"
        " WHEN dm_user IS NOT NULL AND dm_user <> '' THEN 'dm:' || dm_user"
        " ELSE 'upd:' || COALESCE(update_key, '') END"
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('lane', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('in_doubt', existing_type=sa.Boolean(), server_default=None)
        batch_op.alter_column('failures', existing_type=sa.Integer(), server_default=None)
        batch_op.create_index('ix_outbox_lane_state', ['lane', 'state'], unique=False)
        batch_op.create_index('ix_outbox_lane_pace', ['lane', 'pace_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_lane_pace')
        batch_op.drop_index('ix_outbox_lane_state')
        batch_op.drop_column('pace_at')
        batch_op.drop_column('failures')
        batch_op.drop_column('in_doubt')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('lane')
