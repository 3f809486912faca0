"""`csbot import accounts` (PRODUCT.md §3.1): validate every row first, then
upsert all of them in one transaction, or write nothing and list every bad row."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO

from sqlmodel import Session, select

from bot import audit
from bot.clock import Clock
from bot.money import parse_dollars
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


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportRejected(Exception):
    """The file has bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad row(s)")
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


EmailResolver = Callable[[str], "str | None"]


def read_csv(stream: TextIO) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (normalized) and (line number, row) pairs; blank lines skipped."""
    reader = csv.reader(stream)
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        return [], []
    rows: list[tuple[int, dict[str, str]]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append(
            (
                reader.line_num,
                {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)},
            )
        )
    return header, rows


def csm_emails(stream: TextIO) -> set[str]:
    """The distinct emails in an accounts file's csm column, so they can be looked
    up in Slack before the import's transaction opens (no Slack call holds a lock)."""
    _, rows = read_csv(stream)
    return {row["csm"] for _, row in rows if _EMAIL.match(row.get("csm", ""))}


def check_header(header: list[str], required: Iterable[str], optional: Iterable[str]) -> list[str]:
    """Raise ImportRejected for missing columns; return the unknown ones (ignored)."""
    if not header:
        raise ImportRejected([RowError(1, "the file is empty: it needs a header row")])
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportRejected([RowError(1, f"missing required column(s): {', '.join(missing)}")])
    known = set(required) | set(optional)
    return [h for h in header if h not in known]


def _parse_date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a date in YYYY-MM-DD form") from None


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
                values[column] = _parse_date(row[column], column) if row[column] else None
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


def import_accounts(
    session: Session,
    stream: TextIO,
    clock: Clock,
    *,
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
    for index, (target, values) in enumerate(plan, start=1):
        if target is None:
            session.add(Account(**values, created_at=now, updated_at=now))
            result.created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(target, k) != v}
            if changed:
                for k, v in changed.items():
                    setattr(target, k, v)
                target.updated_at = now
                session.add(target)
                result.updated += 1
            else:
                result.unchanged += 1
        if progress and index % 5000 == 0:
            progress(f"… {index:,} of {len(plan):,}")
    _audit_import(session, now, actor, "account", result)
    return result


# =============================================================================
# Customer health (issue 7): `csbot import usage` and `csbot import nps`.
# Rows name their account by external_id or exact name; writes are bulk
# (executemany), so a file of a million usage rows is a few statements.
# =============================================================================

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
        day = _parse_date(row["date"], "date")
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

    header, rows = read_csv(stream)
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
    _write_plan(session, table, plan, ("account_id", "date"), changeable, in_range, result)
    _audit_import(session, clock.now(), actor, "usage", result)
    return result


def import_nps(session: Session, stream: TextIO, clock: Clock, *, actor: str = "cli") -> ImportResult:
    """Upsert NPS responses keyed on (account, date, respondent). All or nothing."""
    from datetime import UTC, time

    from models.tables import NpsResponse

    header, rows = read_csv(stream)
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
    _write_plan(session, table, plan, keys, ("score", "comment"), in_range, result)
    _audit_import(session, clock.now(), actor, "nps", result)
    return result


def _write_plan(
    session: Session,
    table: Any,
    plan: dict[Any, dict[str, Any]],
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    where: tuple[Any, ...],
    result: ImportResult,
) -> None:
    """Upsert `plan` (rows by their `keys` values) against the rows `where` selects:
    insert the new ones and update those whose `columns` changed, one executemany
    each; count the rest as unchanged."""
    from sqlalchemy import bindparam, insert, update

    found = select(table.c.id, *(table.c[k] for k in keys), *(table.c[c] for c in columns)).where(*where)
    existing = {tuple(getattr(r, k) for k in keys): r for r in session.execute(found)}
    inserts, updates = [], []
    for key, values in plan.items():
        old = existing.get(key)
        if old is None:
            inserts.append(values)
        elif tuple(getattr(old, c) for c in columns) != tuple(values[c] for c in columns):
            updates.append({"b_id": old.id, **{c: values[c] for c in columns}})
        else:
            result.unchanged += 1
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**{c: bindparam(c) for c in columns}),
            updates,
        )
    result.created, result.updated = len(inserts), len(updates)


def _audit_import(session: Session, at: datetime, actor: str, kind: str, result: ImportResult) -> None:
    detail = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    audit.record(session, at, actor, f"{kind}.import", kind, None, detail)
    session.flush()
