"""Alerts at each subscription's own time: when an alert became news
(alert.news_at) and how far each alerts subscription has been told
(subscription.alerts_posted_through).

Backfill:
- alert.news_at = last_posted, else first_seen: the last time the nightly job
  announced it (it set last_posted whenever an alert was news).
- subscription.alerts_posted_through (alerts subscriptions only) = the later of
  its created_at and the newest alert.news_at. Before this revision the nightly
  job posted every piece of news to every subscription the moment it found it,
  so everything up to the newest news_at has already been posted; starting the
  watermark at created_at instead would re-post all of it (a flood of old news)
  at each channel's next posting time. Digest subscriptions keep NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('news_at', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('alerts_posted_through', models.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE alert SET news_at = COALESCE(last_posted, first_seen)")
    # Both columns hold UTC in the same representation, so they compare as they are.
    op.execute(
        "UPDATE subscription SET alerts_posted_through = CASE"
        " WHEN (SELECT MAX(news_at) FROM alert) > created_at THEN (SELECT MAX(news_at) FROM alert)"
        " ELSE created_at END"
        " WHERE kind = 'alerts'"
    )


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('alerts_posted_through')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('news_at')
