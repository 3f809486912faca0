"""What is ahead (PRODUCT.md §6.1): the accounts and ARR at risk in each live
account's latest health snapshot, and the renewals of the next 90 days by
health band with their forecast = Σ ARR due × expected retention of the band
(green 95 %, yellow 80 %, red 50 % unless the scorecard TOML says otherwise;
an account not yet scored counts at the yellow rate: neither known healthy nor
known at risk)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select
from sqlmodel import Session

from bot.metrics.frame import AccountRow, scoped
from bot.metrics.result import RenewalRow, RiskRow
from bot.metrics.retention import DueRenewal
from models.tables import HealthSnapshot

DEFAULT_FORECAST_WEIGHTS = {"green": 0.95, "yellow": 0.80, "red": 0.50}
HORIZON_DAYS = 90


@dataclass(frozen=True)
class Snap:
    score: int | None
    band: str | None
    at_risk: bool
    reasons: tuple[str, ...]


def latest_health(session: Session, end: date, scope: Select | None) -> dict[int, Snap]:
    """account id -> its newest health snapshot dated on or before `end` (one statement)."""
    rank = func.row_number().over(partition_by=HealthSnapshot.account_id, order_by=HealthSnapshot.date.desc())
    inner = scoped(
        select(
            HealthSnapshot.account_id,
            HealthSnapshot.score,
            HealthSnapshot.band,
            HealthSnapshot.at_risk,
            HealthSnapshot.reasons,
            rank.label("rn"),
        ).where(HealthSnapshot.date <= end),
        HealthSnapshot.account_id,
        scope,
    ).subquery()
    stmt = select(inner.c.account_id, inner.c.score, inner.c.band, inner.c.at_risk, inner.c.reasons).where(
        inner.c.rn == 1
    )
    out = {}
    for account_id, score, band, at_risk, reasons in session.execute(stmt):
        flagged = bool(at_risk) if at_risk is not None else band == "red"
        out[account_id] = Snap(score, band, flagged, tuple(reasons or ()))
    return out


def at_risk(accounts: Sequence[AccountRow], health: dict[int, Snap], end: date) -> list[RiskRow]:
    """The live accounts at risk, worst first: points below 100 times ARR."""
    rows = []
    for a in accounts:
        snap = health.get(a.id)
        if snap is None or not snap.at_risk or not a.live(end):
            continue
        rows.append(RiskRow(a.id, a.name, a.csm, a.arr[end], snap.score, snap.band, snap.reasons))
    return sorted(
        rows, key=lambda r: (-(100 - (r.score if r.score is not None else 100)) * max(r.arr_cents, 1), r.name)
    )


def renewals_ahead(
    accounts: Sequence[AccountRow],
    events: Sequence[DueRenewal],
    health: dict[int, Snap],
    end: date,
) -> list[RenewalRow]:
    """The live accounts with a renewal in (end, end + 90 days], by date. Renewal
    dates are the accounts' own, and the due dates of outcomes recorded since
    (so a past period's list still holds the renewals that were ahead then)."""
    hi = end + timedelta(days=HORIZON_DAYS)
    dates: dict[int, set[date]] = {}
    for a in accounts:
        if a.renewal_date is not None:
            dates.setdefault(a.id, set()).add(a.renewal_date)
    for e in events:
        dates.setdefault(e.account_id, set()).add(e.due_date)
    by_id = {a.id: a for a in accounts}
    rows = []
    for account_id, days in dates.items():
        a = by_id.get(account_id)
        if a is None or not a.live(end):
            continue
        ahead = sorted(d for d in days if end < d <= hi)
        if ahead:
            snap = health.get(a.id)
            rows.append(RenewalRow(a.id, a.name, a.csm, ahead[0], a.arr[end], snap.band if snap else None))
    return sorted(rows, key=lambda r: (r.renewal_date, r.name))


def forecast(rows: Sequence[RenewalRow], weights: dict[str, float]) -> int:
    """Σ ARR due × the band's expected retention, in whole cents."""
    return round(sum(r.arr_cents * weights.get(r.band or "yellow", weights["yellow"]) for r in rows))
