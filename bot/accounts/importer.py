"""`csbot import accounts` (PRODUCT.md §3.1): validate every row first, then
upsert all of them in one transaction, or write nothing and list every bad row."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

from sqlmodel import Session, select

from bot.accounts.csv_import import (
    EmailResolver,
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
from bot.slack.mentions import is_user_id
from models.tables import STAGES, Account

ACCOUNT_REQUIRED = ("name", "arr")
ACCOUNT_OPTIONAL = (
    "external_id",
    "segment",
    "csm",
    "renewal_date",
    "contract_start",
    "stage",
    "licensed_users",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# What a row may change on Account, keyed by CSV column.
_COLUMN_TO_FIELD = {
    "name": "name",
    "external_id": "external_id",
    "segment": "segment",
    "csm": "csm_slack_id",
    "arr": "arr_cents",
    "renewal_date": "renewal_date",
    "contract_start": "contract_start",
    "stage": "stage",
    "licensed_users": "licensed_users",
}


def csm_emails(stream: TextIO) -> set[str]:
    """The distinct emails in an accounts file's csm column, so they can be looked
    up in Slack before the import's transaction opens (no Slack call holds a lock)."""
    _, rows = read_csv(stream)
    return {row["csm"] for _, row in rows if _EMAIL.match(row.get("csm", ""))}


def _validate_account_row(row: dict[str, str], resolve_email: EmailResolver | None) -> dict[str, Any]:
    """The Account fields a row sets, or ValueError with every problem in it."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    if not row.get("name"):
        problems.append("name is empty")
    else:
        values["name"] = row["name"]
    try:
        cents = parse_dollars(row.get("arr", ""))
        if cents < 0:
            raise ValueError("arr cannot be negative")
        values["arr_cents"] = cents
    except ValueError as exc:
        problems.append(f"arr: {exc}" if row.get("arr") else "arr is empty")
    for column in ("external_id", "segment"):
        if column in row:
            values[_COLUMN_TO_FIELD[column]] = row[column] or None
    if "csm" in row:
        csm = row["csm"]
        if not csm:
            values["csm_slack_id"] = None
        elif is_user_id(csm):
            values["csm_slack_id"] = csm
        elif _EMAIL.match(csm):
            user_id = resolve_email(csm) if resolve_email else None
            if resolve_email is None:
                problems.append(f"csm {csm!r} is an email, and resolving it needs SLACK_BOT_TOKEN")
            elif user_id is None:
                problems.append(f"csm: no Slack user has the email {csm}")
            else:
                values["csm_slack_id"] = user_id
        else:
            problems.append(f"csm {csm!r} is neither a Slack user ID (U…) nor an email")
    for column in ("renewal_date", "contract_start"):
        if column in row:
            try:
                values[column] = parse_date(row[column], column) if row[column] else None
            except ValueError as exc:
                problems.append(str(exc))
    if "stage" in row:
        stage = row["stage"].lower()
        if stage and stage not in STAGES:
            problems.append(f"stage {row['stage']!r} is not one of {', '.join(STAGES)}")
        else:
            values["stage"] = stage or None
    if "licensed_users" in row:
        raw = row["licensed_users"].replace(",", "")
        if raw and not raw.isdigit():
            problems.append(f"licensed_users {row['licensed_users']!r} is not a whole number")
        else:
            values["licensed_users"] = int(raw) if raw else None
    if problems:
        raise ValueError("; ".join(problems))
    return values


def _ledger_moves(
    session: Session,
    created: list[tuple[Account, dict[str, Any]]],
    changes: list[tuple[Account, int, dict[str, Any]]],
    today: date,
    actor: str,
    now: datetime,
) -> None:
    """ARR from the file goes through the ledger (PRODUCT.md §6.0): a new account's
    ARR is a `new` movement dated its contract_start (else today); a changed ARR an
    expansion or contraction dated today (a churn when the file says it churned,
    a reactivation when it had). The stage in the file has the last word."""
    moves = []
    for account, values in created:
        cents = int(values.get("arr_cents") or 0)
        if cents > 0 and account.id is not None:
            day = values.get("contract_start") or today
            moves.append(
                ledger.Move(account.id, "new", cents, day, "import", ref="import:accounts", who=actor)
            )
    for account, before, values in changes:
        delta = int(values["arr_cents"]) - before
        if delta == 0 or account.id is None:
            continue
        stage = values.get("stage", account.stage)
        if delta < 0 and values["arr_cents"] == 0 and stage == "churned":
            kind = "churn"
        else:
            kind = ledger.kind_for_change(
                account.stage, delta, first=before == 0 and account.stage != "churned"
            )
        moves.append(ledger.Move(account.id, kind, delta, today, "import", ref="import:accounts", who=actor))
    if not moves:
        return
    ledger.apply(session, moves, now=now)
    for account, values in created + [(a, v) for a, _, v in changes]:
        if "stage" in values:
            account.stage = values["stage"]
            session.add(account)


def import_accounts(
    session: Session,
    stream: TextIO,
    clock: Clock,
    *,
    tz: str = "UTC",
    actor: str = "cli",
    resolve_email: EmailResolver | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Upsert accounts keyed on external_id, else name. All or nothing."""
    header, rows = read_csv(stream)
    ignored = check_header(header, ACCOUNT_REQUIRED, ACCOUNT_OPTIONAL)
    if progress:
        progress(f"Checking {len(rows):,} row(s)…")

    existing = session.exec(select(Account)).all()
    by_external = {a.external_id: a for a in existing if a.external_id}
    by_name = {a.name: a for a in existing}

    errors: list[RowError] = []
    plan: list[tuple[Account | None, dict[str, Any]]] = []
    seen_keys: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for line, row in rows:
        try:
            values = _validate_account_row(row, resolve_email)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (
            f"external_id {values['external_id']}" if values.get("external_id") else f"name {values['name']}"
        )
        if key in seen_keys:
            errors.append(RowError(line, f"{key} already appears on line {seen_keys[key]}"))
            continue
        seen_keys[key] = line
        if values["name"] in seen_names:
            errors.append(
                RowError(
                    line, f"name {values['name']!r} already appears on line {seen_names[values['name']]}"
                )
            )
            continue
        seen_names[values["name"]] = line
        target = by_external.get(values["external_id"]) if values.get("external_id") else None
        if target is None:
            same_name = by_name.get(values["name"])
            if (
                same_name is not None
                and values.get("external_id")
                and same_name.external_id
                not in (
                    None,
                    values["external_id"],
                )
            ):
                errors.append(
                    RowError(
                        line,
                        f"name {values['name']!r} belongs to the account with external_id "
                        f"{same_name.external_id}, not {values['external_id']}",
                    )
                )
                continue
            target = same_name
        elif values["name"] != target.name and values["name"] in by_name:
            errors.append(
                RowError(line, f"cannot rename to {values['name']!r}: another account has that name")
            )
            continue
        plan.append((target, values))
    if errors:
        raise ImportRejected(errors)

    result = ImportResult(ignored_columns=ignored)
    now = clock.now()
    today = local_date(now, tz)
    created: list[tuple[Account, dict[str, Any]]] = []
    changes: list[tuple[Account, int, dict[str, Any]]] = []  # (account, ARR before, values)
    for index, (target, values) in enumerate(plan, start=1):
        if target is None:
            account = Account(**(values | {"arr_cents": 0}), created_at=now, updated_at=now)
            session.add(account)
            created.append((account, values))
            result.created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(target, k) != v}
            if changed:
                before = int(target.arr_cents or 0)
                for k, v in changed.items():
                    if k != "arr_cents":
                        setattr(target, k, v)
                target.updated_at = now
                session.add(target)
                if "arr_cents" in changed:
                    changes.append((target, before, values))
                result.updated += 1
            else:
                result.unchanged += 1
        if progress and index % 5000 == 0:
            progress(f"… {index:,} of {len(plan):,}")
    session.flush()
    _ledger_moves(session, created, changes, today, actor, now)
    audit_import(session, now, actor, "account", result)
    return result
