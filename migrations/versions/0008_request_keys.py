"""Request keys: one row per Slack request that wrote something (its trigger_id,
view id or signature), unique, so a request delivered twice writes once and the
second delivery answers what the first did. Rows are kept a day (at least
Slack's five-minute signature window). A new table: existing data is untouched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'slackrequest',
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('slackrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slackrequest_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slackrequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slackrequest_created_at'))
    op.drop_table('slackrequest')
