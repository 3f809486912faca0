"""The ARR ledger (PRODUCT.md §6.0): ArrMovement; RenewalEvent records the due
date, the ARR due and what Undo restores; Expansion carries its `#product`;
HealthSnapshot records whether the account was at risk that day.

Backfill, so that Account.arr_cents equals the sum of each account's live
movements from the first `csbot db upgrade` on:
- one `new` movement per account with ARR, for the ARR it had (as imported),
  dated its contract_start, else the day it was created;
- then every RenewalEvent and Expansion not undone, in the order they happened,
  as the movement it stands for (an up-sell: `expansion`; `downgraded`: a
  `contraction` of that amount, at most the ARR; `churned`: a `churn` of the
  whole ARR, stage `churned`; `renewed` at an amount: the difference). Before
  this revision those commands wrote their row and changed nothing else, so a
  churned account still carried its ARR: the ledger now applies them, and
  Account.arr_cents becomes the ledger's sum.
- RenewalEvent.due_date = the day it was recorded (the due date was never
  kept), arr_due_cents = the account's ledger ARR just before it.
- Expansion.product = the first `#tag` of its note, if any.
- HealthSnapshot.at_risk = band is red (the other §4 rules were not kept).
Days are UTC days: the team's time zone is a setting, not in the database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TAG = re.compile(r"#([A-Za-z0-9][\w-]*)")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(UTC)).date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def upgrade() -> None:
    op.create_table(
        'arrmovement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('effective_date', sa.Date(), nullable=False),
        sa.Column('effective_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('source', sa.String(), nullable=False),
        sa.Column('ref', sa.String(), nullable=True),
        sa.Column('product', sa.String(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('stage_before', sa.String(), nullable=True),
        sa.Column('recorded_by', sa.String(), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('deleted_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('arrmovement', schema=None) as batch_op:
        batch_op.create_index('ix_arrmovement_account_effective', ['account_id', 'effective_date'], unique=False)
        batch_op.create_index('ix_arrmovement_ref', ['ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrmovement_effective_date'), ['effective_date'], unique=False)
    with op.batch_alter_table('renewalevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('arr_due_cents', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prior_stage', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('prior_contract_start', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_renewalevent_due_date'), ['due_date'], unique=False)
    with op.batch_alter_table('expansion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product', sa.String(), nullable=True))
    with op.batch_alter_table('healthsnapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_risk', sa.Boolean(), nullable=True))
    op.execute("UPDATE healthsnapshot SET at_risk = (band = 'red')")
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    account = sa.Table('account', meta, autoload_with=conn)
    renewal = sa.Table('renewalevent', meta, autoload_with=conn)
    expansion = sa.Table('expansion', meta, autoload_with=conn)
    movement = sa.Table('arrmovement', meta, autoload_with=conn)
    now = datetime.now(UTC)
    events: dict[int, list[tuple[datetime, int, str, Any]]] = {}
    for row in conn.execute(sa.select(renewal).where(renewal.c.deleted_at.is_(None))):
        events.setdefault(row.account_id, []).append((row.occurred_at, 1, 'renewal', row))
    for row in conn.execute(sa.select(expansion).where(expansion.c.deleted_at.is_(None))):
        events.setdefault(row.account_id, []).append((row.occurred_at, 0, 'expansion', row))
        tag = _TAG.search(row.note or '')
        if tag:
            conn.execute(
                expansion.update().where(expansion.c.id == row.id).values(product=tag.group(1).lower())
            )
    moves: list[dict[str, Any]] = []
    for acc in conn.execute(sa.select(account).order_by(account.c.id)).all():
        arr = int(acc.arr_cents or 0)
        stage = acc.stage
        base = {'account_id': acc.id, 'created_at': now, 'recorded_by': None, 'note': None, 'product': None}
        if arr:
            start = _day(acc.contract_start) if acc.contract_start is not None else _day(acc.created_at)
            moves.append(base | {'kind': 'new', 'amount_cents': arr, 'effective_date': start, 'source': 'backfill',
                                 'ref': None, 'stage_before': stage})
        for occurred, _, what, row in sorted(events.get(acc.id, []), key=lambda e: (_day(e[0]), e[1], e[3].id)):
            day = _day(occurred)
            if what == 'expansion':
                kind = 'reactivation' if arr == 0 and stage == 'churned' else 'expansion'
                delta = int(row.amount_cents)
                ref = f'expansion:{row.id}'
                moves.append(base | {'kind': kind, 'amount_cents': delta, 'effective_date': day, 'source': 'backfill',
                                     'ref': ref, 'stage_before': stage, 'product': None})
                arr += delta
                continue
            due = arr
            conn.execute(
                renewal.update().where(renewal.c.id == row.id).values(
                    due_date=day, arr_due_cents=due, prior_stage=stage, prior_contract_start=acc.contract_start
                )
            )
            if row.outcome == 'churned':
                delta = -arr
            elif row.outcome == 'downgraded':
                delta = -min(int(row.amount_cents), arr)
            else:
                delta = int(row.amount_cents) - arr
            if delta:
                kind = 'churn' if row.outcome == 'churned' else 'expansion' if delta > 0 else 'contraction'
                moves.append(base | {'kind': kind, 'amount_cents': delta, 'effective_date': day, 'source': 'backfill',
                                     'ref': f'renewalevent:{row.id}', 'stage_before': stage})
            arr += delta
            if row.outcome == 'churned':
                stage = 'churned'
        if arr != (acc.arr_cents or 0) or stage != acc.stage:
            conn.execute(account.update().where(account.c.id == acc.id).values(arr_cents=arr, stage=stage))
    if moves:
        conn.execute(movement.insert(), moves)


def downgrade() -> None:
    with op.batch_alter_table('healthsnapshot', schema=None) as batch_op:
        batch_op.drop_column('at_risk')
    with op.batch_alter_table('expansion', schema=None) as batch_op:
        batch_op.drop_column('product')
    with op.batch_alter_table('renewalevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewalevent_due_date'))
        batch_op.drop_column('prior_contract_start')
        batch_op.drop_column('prior_stage')
        batch_op.drop_column('arr_due_cents')
        batch_op.drop_column('due_date')
    with op.batch_alter_table('arrmovement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrmovement_effective_date'))
        batch_op.drop_index('ix_arrmovement_ref')
        batch_op.drop_index('ix_arrmovement_account_effective')
    op.drop_table('arrmovement')
