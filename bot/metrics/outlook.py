"""What is ahead (PRODUCT.md §6.1): the accounts and ARR at risk in each live
account's latest health snapshot, and the renewals of the next 90 days by
health band with their forecast = Σ ARR due × expected retention of the band
(green 95 %, yellow 80 %, red 50 % unless the scorecard TOML says otherwise;
an account not yet scored counts at the yellow rate: neither known healthy nor
known at risk)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, case, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.health.latest import flagged, newest_snapshot
from bot.metrics.frame import AccountRow, rows, scoped
from bot.metrics.result import RenewalRow, RiskRow
from bot.metrics.retention import DueRenewal
from models.tables import Account, HealthSnapshot

DEFAULT_FORECAST_WEIGHTS = {"green": 0.95, "yellow": 0.80, "red": 0.50}
HORIZON_DAYS = 90


class Snap(NamedTuple):
    score: int | None
    band: str | None
    at_risk: bool
    reasons: tuple[str, ...]


def latest_health(session: Session, ends: Sequence[date], scope: Select | None) -> list[dict[int, Snap]]:
    """For each of `ends`: account id -> its newest health snapshot dated on or
    before that day, all from ONE statement (one row per account, a join per day).
    The reasons are read only for the first day's snapshots at risk: they are shown
    in its at-risk list; the other days are only counted."""
    snaps = [aliased(HealthSnapshot) for _ in ends]
    cols: list[Any] = []
    for i, snap in enumerate(snaps):
        cols += [snap.account_id, snap.score, snap.band, flagged(snap)]
        cols.append(case((flagged(snap), snap.reasons)) if i == 0 else literal(None))
    stmt = select(*cols).select_from(Account)
    for snap, end in zip(snaps, ends, strict=True):
        stmt = stmt.outerjoin(snap, newest_snapshot(snap, end))
    out: list[dict[int, Snap]] = [{} for _ in ends]
    for row in rows(session, scoped(stmt, Account.id, scope)):
        for i, found in enumerate(out):
            account_id, score, band, at_risk, reasons = row[5 * i : 5 * i + 5]
            if account_id is not None:
                found[account_id] = Snap(score, band, bool(at_risk), tuple(reasons or ()))
    return out


def at_risk(accounts: Sequence[AccountRow], health: dict[int, Snap], end: date) -> list[RiskRow]:
    """The live accounts at risk, worst first: points below 100 times ARR."""
    found = []
    for a in accounts:
        snap = health.get(a.id)
        if snap is None or not snap.at_risk or not a.live(end):
            continue
        found.append(RiskRow(a.id, a.name, a.csm, a.arr[end], snap.score, snap.band, snap.reasons))
    return sorted(found, key=_worst_first)


def _worst_first(r: RiskRow) -> tuple[int, str]:
    points_below = 100 - (100 if r.score is None else r.score)
    return (-points_below * max(r.arr_cents, 1), r.name)


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
    recorded: dict[int, date] = {}  # account id -> its soonest recorded due date in the window
    for e in events:
        if end < e.due_date <= hi and e.due_date < recorded.get(e.account_id, date.max):
            recorded[e.account_id] = e.due_date
    found = []
    for a in accounts:
        if not a.live(end):
            continue
        due = a.renewal_date if a.renewal_date is not None and end < a.renewal_date <= hi else date.max
        due = min(due, recorded.get(a.id, date.max))
        if due != date.max:
            snap = health.get(a.id)
            found.append(RenewalRow(a.id, a.name, a.csm, due, a.arr[end], snap.band if snap else None))
    return sorted(found, key=lambda r: (r.renewal_date, r.name))


def forecast(renewals: Sequence[RenewalRow], weights: dict[str, float]) -> int:
    """Σ ARR due × the band's expected retention, in whole cents."""
    return round(sum(r.arr_cents * weights.get(r.band or "yellow", weights["yellow"]) for r in renewals))
