"""Retention (PRODUCT.md §6.1), both denominators the field uses, named:

- GRR / NRR, trailing 12 months, cohort form: the accounts with ARR on the day
  12 months before the period's end; GRR = Σ min(ARR at end, ARR then) / Σ ARR
  then (each account capped at its starting ARR, so never above 100 %), NRR =
  Σ ARR at end / Σ ARR then (expansion counts; accounts new within the 12
  months do not).
- Renewal rate, quarter to date: (ARR due − churned − contraction at renewal)
  / ARR due, over the renewals due in the quarter so far, the ones past their
  date without an outcome included (Gainsight's "renewals due")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlmodel import Session

from bot.metrics.frame import AccountRow, rows, scoped
from bot.revenue.outcomes import add_months
from models.tables import RenewalEvent


def year_before(end: date) -> date:
    return add_months(end, -12)


def grr_nrr(accounts: Sequence[AccountRow], end: date) -> tuple[float | None, float | None, str | None]:
    """(GRR, NRR, why-n/a) for the 12 months to `end`; `accounts` carry ARR on both days."""
    then = year_before(end)
    base = kept = total = 0
    for a in accounts:
        start = a.arr[then]
        if start <= 0:
            continue
        now = max(a.arr[end], 0)
        base += start
        kept += min(now, start)
        total += now
    if base == 0:
        return None, None, f"no account had ARR on {then.isoformat()}, 12 months before the period's end"
    return kept / base, total / base, None


@dataclass(frozen=True)
class DueRenewal:
    account_id: int
    due_date: date
    outcome: str
    arr_due_cents: int
    loss_cents: int  # churned + contraction at this renewal


def renewal_events(session: Session, lo: date, hi: date, scope: Select | None) -> list[DueRenewal]:
    """The recorded renewal outcomes whose due date is in [lo, hi], one statement."""
    stmt = scoped(
        select(
            RenewalEvent.account_id,
            RenewalEvent.due_date,
            RenewalEvent.outcome,
            RenewalEvent.amount_cents,
            RenewalEvent.arr_due_cents,
        ).where(RenewalEvent.deleted_at.is_(None), RenewalEvent.due_date.between(lo, hi)),
        RenewalEvent.account_id,
        scope,
    )
    out = []
    for account_id, due, outcome, amount, arr_due in rows(session, stmt):
        arr_due = int(arr_due or 0)
        if outcome == "churned":
            loss = arr_due
        elif outcome == "downgraded":
            loss = int(amount)
        else:
            loss = max(arr_due - int(amount), 0)
        out.append(DueRenewal(account_id, due, outcome, arr_due, min(max(loss, 0), arr_due)))
    return out


def renewal_rate(
    events: Sequence[DueRenewal], accounts: Sequence[AccountRow], quarter_start: date, end: date
) -> tuple[float | None, str | None, list[AccountRow]]:
    """(rate, why-n/a, the renewals past due without an outcome) for [quarter_start, end]."""
    due = loss = 0
    for e in events:
        if quarter_start <= e.due_date <= end:
            due += e.arr_due_cents
            loss += e.loss_cents
    past_due = [
        a
        for a in accounts
        if a.renewal_date is not None and quarter_start <= a.renewal_date <= end and a.live(end)
    ]
    due += sum(a.arr[end] for a in past_due)
    if due == 0:
        return (
            None,
            f"no ARR due for renewal between {quarter_start:%b} {quarter_start.day} and {end:%b} {end.day}",
            past_due,
        )
    return (due - loss) / due, None, past_due
