"""`csbot import usage` and `csbot import nps` (PRODUCT.md §3.1). Rows name their
account by external_id or exact name; writes are bulk (executemany), so a file of
a million usage rows is a few statements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

from sqlmodel import Session, select

from bot.accounts.csv_import import (
    ImportRejected,
    ImportResult,
    RowError,
    audit_import,
    check_header,
    parse_date,
    read_csv,
    write_plan,
)
from bot.clock import Clock
from models.tables import Account

USAGE_REQUIRED = ("account", "date", "active_users", "licensed_users")
USAGE_OPTIONAL = ("feature_adoption_pct",)
NPS_REQUIRED = ("account", "date", "score")
NPS_OPTIONAL = ("respondent", "comment")


def _account_lookup(session: Session) -> Callable[[str], int | None]:
    """external_id first, then exact name (the keys of the accounts import)."""
    rows = session.exec(select(Account.id, Account.name, Account.external_id)).all()
    by_external = {ext: i for i, _, ext in rows if ext}
    by_name = {name: i for i, name, _ in rows}

    def find(text: str) -> int | None:
        return by_external.get(text, by_name.get(text))

    return find


def _whole(value: str, column: str, problems: list[str]) -> int | None:
    raw = value.replace(",", "").strip()
    if not raw:
        problems.append(f"{column} is empty")
        return None
    if not raw.isdigit():
        problems.append(f"{column} {value!r} is not a whole number of 0 or more")
        return None
    return int(raw)


def _row_date(row: dict[str, str], today: date, problems: list[str]) -> date | None:
    if not row.get("date"):
        problems.append("date is empty")
        return None
    try:
        day = parse_date(row["date"], "date")
    except ValueError as exc:
        problems.append(str(exc))
        return None
    if day > today:
        problems.append(f"date {day.isoformat()} is in the future")
        return None
    return day


def _row_account(row: dict[str, str], find: Callable[[str], int | None], problems: list[str]) -> int | None:
    name = row.get("account", "")
    if not name:
        problems.append("account is empty")
        return None
    account_id = find(name)
    if account_id is None:
        problems.append(f"no account has the name or external_id {name!r} (import accounts first)")
    return account_id


def import_usage(session: Session, stream: TextIO, clock: Clock, *, actor: str = "cli") -> ImportResult:
    """Upsert usage snapshots keyed on (account, date). All or nothing."""

    from models.tables import UsageSnapshot

    header, rows = read_csv(stream, USAGE_REQUIRED + USAGE_OPTIONAL)
    ignored = check_header(header, USAGE_REQUIRED, USAGE_OPTIONAL)
    find = _account_lookup(session)
    today = clock.now().date()
    errors: list[RowError] = []
    plan: dict[tuple[int, date], dict[str, Any]] = {}
    lines: dict[tuple[int, date], int] = {}
    for line, row in rows:
        problems: list[str] = []
        account_id = _row_account(row, find, problems)
        day = _row_date(row, today, problems)
        active = _whole(row.get("active_users", ""), "active_users", problems)
        licensed = _whole(row.get("licensed_users", ""), "licensed_users", problems)
        pct: float | None = None
        if row.get("feature_adoption_pct"):
            try:
                pct = float(row["feature_adoption_pct"].rstrip("%").strip())
                if not 0 <= pct <= 100:
                    raise ValueError
            except ValueError:
                problems.append(
                    f"feature_adoption_pct {row['feature_adoption_pct']!r} is not a percentage 0-100"
                )
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        key = (account_id, day)
        if key in lines:
            errors.append(RowError(line, f"{row['account']} on {day} already appears on line {lines[key]}"))
            continue
        lines[key] = line  # type: ignore[index]
        plan[key] = {  # type: ignore[index]
            "account_id": account_id,
            "date": day,
            "active_users": active,
            "licensed_users": licensed,
            "feature_adoption_pct": pct,
        }
    if errors:
        raise ImportRejected(errors)
    result = ImportResult(ignored_columns=ignored)
    if not plan:
        return result
    table: Any = UsageSnapshot.__table__
    days = [d for _, d in plan]
    changeable = ("active_users", "licensed_users", "feature_adoption_pct")
    in_range = (table.c.date >= min(days), table.c.date <= max(days))
    write_plan(session, table, plan, ("account_id", "date"), changeable, in_range, result)
    audit_import(session, clock.now(), actor, "usage", result)
    return result


def import_nps(session: Session, stream: TextIO, clock: Clock, *, actor: str = "cli") -> ImportResult:
    """Upsert NPS responses keyed on (account, date, respondent). All or nothing."""
    from datetime import UTC, time

    from models.tables import NpsResponse

    header, rows = read_csv(stream, NPS_REQUIRED + NPS_OPTIONAL)
    ignored = check_header(header, NPS_REQUIRED, NPS_OPTIONAL)
    find = _account_lookup(session)
    now = clock.now()
    errors: list[RowError] = []
    plan: dict[tuple[int, datetime, str | None], dict[str, Any]] = {}
    lines: dict[tuple[int, datetime, str | None], int] = {}
    for line, row in rows:
        problems: list[str] = []
        account_id = _row_account(row, find, problems)
        day = _row_date(row, now.date(), problems)
        score = None
        raw = row.get("score", "").strip()
        if not raw:
            problems.append("score is empty")
        elif not raw.isdigit() or int(raw) > 10:
            problems.append(f"score {raw!r} is not a whole number from 0 to 10")
        else:
            score = int(raw)
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        at = datetime.combine(day, time(0, 0), tzinfo=UTC)  # type: ignore[arg-type]
        respondent = row.get("respondent") or None
        key = (account_id, at, respondent)
        if key in lines:
            who = f" from {respondent}" if respondent else ""
            errors.append(
                RowError(
                    line,
                    f"the response{who} for {row['account']} on {day} already appears on line {lines[key]}",
                )
            )
            continue
        lines[key] = line  # type: ignore[index]
        plan[key] = {  # type: ignore[index]
            "account_id": account_id,
            "responded_at": at,
            "score": score,
            "respondent": respondent,
            "comment": row.get("comment") or None,
            "recorded_by": actor,
            "created_at": now,
            "deleted_at": None,
        }
    if errors:
        raise ImportRejected(errors)
    result = ImportResult(ignored_columns=ignored)
    if not plan:
        return result
    table: Any = NpsResponse.__table__
    times = [at for _, at, _ in plan]
    in_range = (
        table.c.responded_at >= min(times),
        table.c.responded_at <= max(times),
        table.c.deleted_at.is_(None),
    )
    keys = ("account_id", "responded_at", "respondent")
    write_plan(session, table, plan, keys, ("score", "comment"), in_range, result)
    audit_import(session, clock.now(), actor, "nps", result)
    return result
