"""Pages are never lost: strict order only within a thread or one message's edits
(outbox.order_key), the row a message needs posted first (outbox.depends_on), the
escalation a page belongs to (outbox.escalation_id, never given up while
unacknowledged) and when admins were told a message is dead (outbox.reported_at).

Backfill (rows queued before this revision):
- order_key: "thread:<thread_key>" or "thread:<channel>:<thread_ts>" for a thread
  reply, "upd:<update_key>" for an edit;
- depends_on: the thread parent, the edited message, or the message a DM links to
  (payload "permalink_of");
- escalation_id: from the escalation's keys ("esc:<id>:…");
- reported_at: now for rows already dead (`csbot outbox` showed them; no DM flood).

Revision ID: 0009
Revises: 0006 (on main: 0008; the chain is re-linked at merge)
Create Date: 2026-12-02
"""
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ESC_KEY = re.compile(r"^esc:(\d+):")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('depends_on', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('escalation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reported_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_order_state', ['order_key', 'state'], unique=False)
        batch_op.create_index('ix_outbox_depends_on', ['depends_on'], unique=False)
    conn = op.get_bind()
    outbox = sa.table(
        'outbox',
        sa.column('id', sa.Integer()),
        sa.column('key', sa.Text()),
        sa.column('state', sa.String()),
        sa.column('channel', sa.String()),
        sa.column('thread_key', sa.String()),
        sa.column('thread_ts', sa.String()),
        sa.column('update_key', sa.String()),
        sa.column('payload', sa.Text()),
        sa.column('order_key', sa.Text()),
        sa.column('depends_on', sa.Text()),
        sa.column('escalation_id', sa.Integer()),
        sa.column('reported_at', models.types.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    # Only rows still to be sent (or dead, to be retried) need the new columns.
    rows = conn.execute(
        sa.select(
            outbox.c.id, outbox.c.key, outbox.c.state, outbox.c.channel, outbox.c.thread_key,
            outbox.c.thread_ts, outbox.c.update_key, sa.cast(outbox.c.payload, sa.Text()),
        ).where(outbox.c.state.in_(('pending', 'dead')))
    ).all()
    for row_id, key, state, channel, thread_key, thread_ts, update_key, payload in rows:
        try:
            link = (json.loads(payload) or {}).get('permalink_of') if payload else None
        except ValueError:
            link = None
        order = None
        if update_key:
            order = f"upd:{update_key}"
        elif thread_key:
            order = f"thread:{thread_key}"
        elif thread_ts:
            order = f"thread:{channel}:{thread_ts}"
        match = _ESC_KEY.match(key or '')
        conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(
                order_key=order,
                depends_on=update_key or thread_key or link,
                escalation_id=int(match.group(1)) if match else None,
                reported_at=now if state == 'dead' else None,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_depends_on')
        batch_op.drop_index('ix_outbox_order_state')
        batch_op.drop_column('reported_at')
        batch_op.drop_column('escalation_id')
        batch_op.drop_column('depends_on')
        batch_op.drop_column('order_key')
