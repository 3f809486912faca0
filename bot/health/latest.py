"""Each account's newest health snapshot (PRODUCT.md §4): what the nightly job
last decided, the one source the desk and the figures read, so they never
disagree about who is at risk."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select

from models.tables import Account, HealthSnapshot


def newest_snapshot(snapshot: Any = HealthSnapshot, on_or_before: date | None = None) -> Any:
    """The join condition of an account and its newest snapshot (dated on or before
    `on_or_before` when given), found per account with one seek down the
    (account_id, date) unique index: the cost follows the accounts selected, not
    the years of snapshots kept. `snapshot` may be an alias, to join two days."""
    newest_day = select(func.max(HealthSnapshot.date)).where(HealthSnapshot.account_id == Account.id)
    if on_or_before is not None:
        newest_day = newest_day.where(HealthSnapshot.date <= on_or_before)
    newest_day = newest_day.correlate(Account).scalar_subquery()
    return and_(snapshot.account_id == Account.id, snapshot.date == newest_day)


def flagged(snapshot: Any = HealthSnapshot) -> Any:
    """SQL: at risk in the snapshot (§4); one written before the decision was
    recorded reads as red = at risk."""
    return func.coalesce(snapshot.at_risk, snapshot.band == "red")
