"""Coverage (PRODUCT.md §6.1): the share of live accounts with a touchpoint in
the trailing 30 days to the period's end, and the touchpoints of each account in
the period (the per-CSM table) — both periods from ONE statement over the accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlmodel import Session

from bot.metrics.frame import AccountRow, rows, scoped
from bot.metrics.periods import Period, day_start_utc
from models.tables import Account, Touchpoint

WINDOW_DAYS = 30


@dataclass(frozen=True)
class Touches:
    in_period: dict[int, int]  # account id -> touchpoints in the period (the first period only)
    covered: set[int]  # accounts touched in the 30 days to the period's end


def touches(session: Session, periods: Sequence[Period], tz: str, scope: Select | None) -> list[Touches]:
    """Coverage for every period; touchpoints per account for the first one only
    (the per-CSM table shows the period asked for). One statement over the accounts:
    each count and "any touchpoint in the window" is a range seek down the
    (account, occurred_at) index, so the cost follows the accounts, not the
    touchpoints logged."""

    def kept(lo: datetime, hi: datetime) -> Any:
        return and_(
            Touchpoint.account_id == Account.id,
            Touchpoint.deleted_at.is_(None),
            Touchpoint.occurred_at >= lo,
            Touchpoint.occurred_at < hi,
        )

    first_lo, first_hi = periods[0].utc_bounds()
    cols: list[Any] = [select(func.count()).where(kept(first_lo, first_hi)).scalar_subquery()]
    for p in periods:
        recent = day_start_utc(p.end - timedelta(days=WINDOW_DAYS - 1), tz)
        cols.append(exists().where(kept(recent, p.utc_bounds()[1])))
    stmt = scoped(select(Account.id, *cols), Account.id, scope)
    out = [Touches({}, set()) for _ in periods]
    for row in rows(session, stmt):
        if row[1]:
            out[0].in_period[row[0]] = int(row[1])
        for i, t in enumerate(out):
            if row[2 + i]:
                t.covered.add(row[0])
    return out


def coverage(accounts: Sequence[AccountRow], t: Touches, end: date) -> tuple[float | None, str | None]:
    live = [a for a in accounts if a.live(end)]
    if not live:
        return None, "no live accounts"
    return sum(1 for a in live if a.id in t.covered) / len(live), None
