"""Revenue flow in a period (PRODUCT.md §6.1): up-sell $ (Premier Support &
Success: the `#premier` ones), new ARR, logo churn, ARR and cost / ARR — from
one grouped scan of the movements in the two periods compared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, case, func, select
from sqlmodel import Session

from bot.metrics.frame import AccountRow, rows, scoped, within
from bot.metrics.periods import Period
from bot.revenue.outcomes import PREMIER
from models.tables import ArrMovement


@dataclass
class Flow:
    upsell: int = 0
    premier: int = 0
    new_arr: int = 0
    churned: set[int] = field(default_factory=set)


def flows(session: Session, periods: Sequence[Period], tz: str, scope: Select | None) -> list[Flow]:
    """One Flow per period, from ONE statement grouped by account, kind and product."""
    lo = min(p.start for p in periods) - timedelta(days=1)
    hi = max(p.end for p in periods) + timedelta(days=1)
    sums = [
        func.sum(case((within(p.start, p.end, tz), ArrMovement.amount_cents), else_=0)).label(f"s{i}")
        for i, p in enumerate(periods)
    ]
    counts = [func.sum(case((within(p.start, p.end, tz), 1), else_=0)) for p in periods]
    stmt = scoped(
        select(ArrMovement.account_id, ArrMovement.kind, ArrMovement.product, *sums, *counts)
        .where(ArrMovement.deleted_at.is_(None), ArrMovement.effective_date.between(lo, hi))
        .group_by(ArrMovement.account_id, ArrMovement.kind, ArrMovement.product),
        ArrMovement.account_id,
        scope,
    )
    out = [Flow() for _ in periods]
    n = len(periods)
    for row in rows(session, stmt):
        account_id, kind, product = row[0], row[1], row[2]
        for i, flow in enumerate(out):
            amount, count = int(row[3 + i] or 0), int(row[3 + n + i] or 0)
            if not count:
                continue
            if kind == "expansion":
                flow.upsell += amount
                if (product or "").lower() == PREMIER:
                    flow.premier += amount
            elif kind in ("new", "reactivation"):
                flow.new_arr += amount
            elif kind == "churn":
                flow.churned.add(account_id)
    return out


def logo_churn(flow: Flow, accounts: Sequence[AccountRow], period: Period) -> tuple[float | None, str | None]:
    """Accounts churned in the period / live accounts at its start."""
    day_before = period.start - timedelta(days=1)
    live = [a for a in accounts if a.live(day_before)]
    if not live:
        return None, "no live accounts at the start of the period"
    return len(flow.churned) / len(live), None


def live_arr(accounts: Sequence[AccountRow], day: date) -> int:
    return sum(a.arr[day] for a in accounts if a.live(day))


def cost_per_arr(team_cost_cents: int | None, arr_cents: int) -> tuple[float | None, str | None]:
    if team_cost_cents is None:
        return None, "the team's cost is not set (CSBOT_TEAM_COST)"
    if arr_cents <= 0:
        return None, "no live ARR"
    return team_cost_cents / arr_cents, None
