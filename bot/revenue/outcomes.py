"""What a renewal outcome and an up-sell do to an account (PRODUCT.md §6.0),
apart from parsing and roles: the RenewalEvent or Expansion row, its ledger
movements, the renewal date one term on, the stage — and their exact Undo."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.revenue import ledger
from models.tables import Account, Expansion, RenewalEvent

PREMIER = "premier"  # `/cs upsell … #premier`: a sale of Premier Support & Success


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (Jan 31 + 1 month = Feb 28/29)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_term(renewal_date: date, contract_start: date | None) -> date:
    """The renewal date one term on: term = renewal_date − contract_start (whole
    months when the days of the month agree, else days), else 12 months."""
    if contract_start is None or contract_start >= renewal_date:
        return add_months(renewal_date, 12)
    months = (renewal_date.year - contract_start.year) * 12 + renewal_date.month - contract_start.month
    if add_months(contract_start, months) == renewal_date:
        return add_months(renewal_date, months)
    return renewal_date + timedelta(days=(renewal_date - contract_start).days)


@dataclass(frozen=True)
class RenewalResult:
    event: RenewalEvent
    arr_before: int
    arr_after: int
    renewal_date: date | None  # the new renewal date (churned: unchanged)


def record_outcome(
    session: Session,
    account: Account,
    outcome: str,
    amount_cents: int | None,
    *,
    who: str,
    now: datetime,
    today: date,
) -> RenewalResult:
    """`renewed [amount]`: ARR becomes `amount` (the difference an expansion or
    contraction), the renewal date moves one term on. `downgraded <amount>`: a
    contraction of `amount`, the date moves on. `churned`: a churn of the whole
    ARR, stage churned. Raises ledger.LedgerError on an impossible amount."""
    assert account.id is not None
    arr = int(account.arr_cents or 0)
    due = account.renewal_date or today
    if outcome == "renewed":
        if amount_cents == 0:
            raise ledger.LedgerError("a renewal at $0 is a churn: record it as `churned`")
        after = arr if amount_cents is None else amount_cents
    elif outcome == "downgraded":
        if amount_cents is None or amount_cents <= 0:
            raise ledger.LedgerError("a downgrade needs the amount ARR went down by")
        if amount_cents >= arr:
            raise ledger.LedgerError("the downgrade is the whole ARR or more: record it as `churned` instead")
        after = arr - amount_cents
    else:
        after = 0
    event = RenewalEvent(
        account_id=account.id,
        outcome=outcome,
        amount_cents=(after if outcome == "renewed" else arr - after),
        occurred_at=now,
        recorded_by=who,
        created_at=now,
        due_date=due,
        arr_due_cents=arr,
        prior_stage=account.stage,
        prior_contract_start=account.contract_start,
    )
    session.add(event)
    session.flush()
    delta = after - arr
    if delta:
        kind = "churn" if outcome == "churned" else ledger.kind_for_change(account.stage, delta)
        ledger.apply(
            session,
            [
                ledger.Move(
                    account.id,
                    kind,
                    delta,
                    today,
                    "renewal",
                    effective_at=now,
                    ref=f"renewalevent:{event.id}",
                    who=who,
                )
            ],
            now=now,
        )
    elif outcome == "churned":
        account.stage = ledger.CHURNED  # nothing left to lose, still out of the live portfolio
    new_date: date | None = account.renewal_date
    if outcome != "churned":
        new_date = next_term(due, account.contract_start)
        account.contract_start, account.renewal_date = due, new_date
    account.updated_at = now
    session.add(account)
    session.flush()
    return RenewalResult(event, arr, after, new_date)


def undo_outcome(session: Session, event: RenewalEvent, *, now: datetime) -> None:
    """Remove the outcome's movements and put back ARR, renewal date, contract start and stage."""
    ledger.undo(session, f"renewalevent:{event.id}", now=now)
    event.deleted_at = now
    session.add(event)
    account = session.get(Account, event.account_id)
    if account is None:
        return
    session.refresh(account)
    account.stage = event.prior_stage
    if event.outcome != "churned":
        account.renewal_date = event.due_date
        account.contract_start = event.prior_contract_start
    account.updated_at = now
    session.add(account)
    session.flush()


def record_upsell(
    session: Session,
    account: Account,
    cents: int,
    *,
    product: str | None,
    note: str | None,
    who: str,
    now: datetime,
    today: date,
) -> Expansion:
    """An expansion movement (a reactivation when the account had churned)."""
    assert account.id is not None
    row = Expansion(
        account_id=account.id,
        amount_cents=cents,
        note=note,
        product=product,
        occurred_at=now,
        recorded_by=who,
        created_at=now,
    )
    session.add(row)
    session.flush()
    kind = ledger.kind_for_change(account.stage, cents)
    ledger.apply(
        session,
        [
            ledger.Move(
                account.id,
                kind,
                cents,
                today,
                "upsell",
                effective_at=now,
                ref=f"expansion:{row.id}",
                product=product,
                note=note,
                who=who,
            )
        ],
        now=now,
    )
    return row


def undo_upsell(session: Session, row: Expansion, *, now: datetime) -> None:
    ledger.undo(session, f"expansion:{row.id}", now=now)
    row.deleted_at = now
    session.add(row)
