"""`csbot import movements FILE.csv` (PRODUCT.md §3.1, §6.0): revenue history from
a billing export — account (name or external_id), date, kind (new / expansion /
contraction / churn / reactivation), amount (dollars, positive: the kind gives
the sign), optional note. All or nothing like every import; a row already in
the ledger (same account, date, kind and amount) is unchanged, so importing
the same export twice changes nothing. Writes go through the ledger."""

from __future__ import annotations

from datetime import date
from typing import TextIO

from sqlalchemy import select
from sqlmodel import Session

from bot.accounts.csv_import import (
    ImportRejected,
    ImportResult,
    RowError,
    audit_import,
    check_header,
    parse_date,
    read_csv,
)
from bot.clock import Clock, local_date
from bot.money import parse_dollars
from bot.revenue import ledger
from models.tables import MOVEMENT_KINDS, Account, ArrMovement

REQUIRED = ("account", "date", "kind", "amount")
OPTIONAL = ("note",)


def import_movements(
    session: Session, stream: TextIO, clock: Clock, *, tz: str = "UTC", actor: str = "cli"
) -> ImportResult:
    header, rows = read_csv(stream)
    ignored = check_header(header, REQUIRED, OPTIONAL)
    today = local_date(clock.now(), tz)
    accounts = session.execute(select(Account.id, Account.name, Account.external_id, Account.arr_cents)).all()
    by_external = {ext: i for i, _, ext, _ in accounts if ext}
    by_name = {name: i for i, name, _, _ in accounts}
    arr = {i: int(a or 0) for i, _, _, a in accounts}
    existing = {
        (a, d, k, int(c))
        for a, d, k, c in session.execute(
            select(
                ArrMovement.account_id, ArrMovement.effective_date, ArrMovement.kind, ArrMovement.amount_cents
            ).where(ArrMovement.deleted_at.is_(None))
        )
    }
    errors: list[RowError] = []
    plan: list[tuple[int, ledger.Move]] = []
    seen: set[tuple[int, date, str, int]] = set()
    result = ImportResult(ignored_columns=ignored)
    for line, row in rows:
        problems: list[str] = []
        name = row.get("account", "").strip()
        account_id = by_external.get(name, by_name.get(name)) if name else None
        if not name:
            problems.append("account is empty")
        elif account_id is None:
            problems.append(f"no account has the name or external_id {name!r} (import accounts first)")
        day = None
        try:
            day = parse_date(row.get("date", ""), "date")
            if day > today:
                problems.append(f"date {day.isoformat()} is in the future")
        except ValueError as exc:
            problems.append(str(exc))
        kind = row.get("kind", "").strip().lower()
        if kind not in MOVEMENT_KINDS:
            problems.append(f"kind {row.get('kind', '')!r} is not one of {', '.join(MOVEMENT_KINDS)}")
        cents = None
        try:
            cents = parse_dollars(row.get("amount", ""))
            if cents <= 0:
                problems.append("amount must be above $0 (the kind gives the sign)")
        except ValueError as exc:
            problems.append(str(exc))
        if problems or account_id is None or day is None or cents is None:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        signed = -cents if kind in ledger.NEGATIVE else cents
        key = (account_id, day, kind, signed)
        if key in existing or key in seen:
            result.unchanged += 1
            continue
        seen.add(key)
        note = row.get("note", "").strip() or None
        plan.append(
            (
                line,
                ledger.Move(
                    account_id, kind, signed, day, "movements", ref="import:movements", note=note, who=actor
                ),
            )
        )
    for _, move in plan:
        arr[move.account_id] += move.amount_cents
    for account_id, total in arr.items():
        if total < 0:
            first = next(line for line, m in plan if m.account_id == account_id)
            errors.append(
                RowError(first, f"these movements would take the account's ARR below $0 ({total / 100:,.2f})")
            )
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.line))
    moves = [m for _, m in sorted(plan, key=lambda p: (p[1].account_id, p[1].effective_date, p[0]))]
    ledger.apply(session, moves, now=clock.now())
    result.created = len(moves)
    audit_import(session, clock.now(), actor, "arrmovement", result)
    return result
