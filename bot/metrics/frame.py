"""The portfolio as the figures see it: one row per account in scope with its
ledger ARR on each day a figure asks about, in ONE statement (a grouped scan of
the movements), so every later figure reads plain values (PRODUCT.md §9).

A movement with an instant (a Slack command) is placed by that instant in the
reader's time zone; a dated one (imports) by its date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlmodel import Session

from bot.metrics.periods import day_start_utc
from models.tables import Account, ArrMovement

CHURNED = "churned"


def scope_ids(segment: str | None, csm: str | None) -> Select[Any] | None:
    """A SELECT of the account ids in scope (None: the whole portfolio)."""
    if segment is None and csm is None:
        return None
    stmt = select(Account.id)
    if segment is not None:
        stmt = stmt.where(func.lower(Account.segment) == segment.lower())
    if csm is not None:
        stmt = stmt.where(Account.csm_slack_id == csm)
    return stmt


def scoped(stmt: Select[Any], column: Any, scope: Select[Any] | None) -> Select[Any]:
    return stmt if scope is None else stmt.where(column.in_(scope))


def on_or_before(day: date, tz: str) -> Any:
    """SQL: the movement is effective on or before local `day` in `tz`."""
    stop = day_start_utc(day + timedelta(days=1), tz)
    return or_(
        and_(ArrMovement.effective_at.is_(None), ArrMovement.effective_date <= day),
        ArrMovement.effective_at < stop,
    )


def within(start: date, end: date, tz: str) -> Any:
    """SQL: the movement is effective on a local day in [start, end] in `tz`."""
    lo, hi = day_start_utc(start, tz), day_start_utc(end + timedelta(days=1), tz)
    return or_(
        and_(ArrMovement.effective_at.is_(None), ArrMovement.effective_date.between(start, end)),
        and_(ArrMovement.effective_at >= lo, ArrMovement.effective_at < hi),
    )


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    segment: str | None
    csm: str | None
    stage: str | None
    renewal_date: date | None
    licensed_users: int | None
    created_at: datetime | None
    arr: dict[date, int]  # ledger ARR at the end of each asked day
    moved: dict[date, bool]  # any movement effective on or before the day
    tz: str

    def live(self, day: date) -> bool:
        """In the live portfolio on `day`: it had ARR then, or it has had no
        revenue yet and is not churned (an account still being set up)."""
        if self.arr[day] > 0:
            return True
        if self.moved[day] or self.stage == CHURNED:
            return False
        return self.created_at is None or self.created_at < day_start_utc(day + timedelta(days=1), self.tz)


def portfolio(session: Session, days: Iterable[date], tz: str, scope: Select[Any] | None) -> list[AccountRow]:
    """Every account in scope, with its ARR and "has moved" on each of `days`."""
    days = sorted(set(days))
    columns = [
        func.sum(case((on_or_before(day, tz), ArrMovement.amount_cents), else_=0)).label(f"a{i}")
        for i, day in enumerate(days)
    ]
    # the first day with revenue (a day early for a timestamped movement read in another zone is harmless:
    # it only decides whether a zero-ARR account is "still being set up" or "had revenue")
    columns.append(func.min(ArrMovement.effective_date).label("first"))
    sums = (
        select(ArrMovement.account_id.label("account_id"), *columns)
        .where(ArrMovement.deleted_at.is_(None))
        .group_by(ArrMovement.account_id)
    )
    sums = scoped(sums, ArrMovement.account_id, scope).subquery()
    stmt = scoped(
        select(
            Account.id,
            Account.name,
            Account.segment,
            Account.csm_slack_id,
            Account.stage,
            Account.renewal_date,
            Account.licensed_users,
            Account.created_at,
            *[sums.c[f"a{i}"] for i in range(len(days))],
            sums.c.first,
        ).outerjoin(sums, sums.c.account_id == Account.id),
        Account.id,
        scope,
    )
    out = []
    n = len(days)
    for row in session.execute(stmt):
        arr = {d: int(row[8 + i] or 0) for i, d in enumerate(days)}
        first = row[8 + n]
        if isinstance(first, str):  # SQLite hands back MIN() of a date as text
            first = date.fromisoformat(first)
        moved = {d: first is not None and first <= d for d in days}
        out.append(AccountRow(*row[:8], arr=arr, moved=moved, tz=tz))
    return out
