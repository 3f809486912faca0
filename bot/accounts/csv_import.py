"""What every CSV import shares (PRODUCT.md §3.1): reading the file, checking its
header, the row errors that reject a whole file, the result counts, and the bulk
upsert that writes a validated plan in a few statements."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO

from sqlmodel import Session, select

from bot import audit


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


# Other names CRMs and spreadsheets give each column (compared after normalizing:
# lower case, every run of punctuation or spaces as "_"). An alias counts only for
# the import whose columns include its target, so "Account Name" is `name` in the
# accounts import and `account` in the usage import.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "account_name",
        "account",
        "company",
        "company_name",
        "customer",
        "customer_name",
        "organization",
        "organisation",
    ),
    "arr": ("annual_recurring_revenue", "arr_usd", "arr_amount", "annual_revenue", "recurring_revenue"),
    "external_id": ("id", "account_id", "crm_id", "salesforce_id", "hubspot_id", "record_id"),
    "segment": ("tier", "account_segment", "customer_segment", "account_tier"),
    "csm": (
        "csm_email",
        "owner_email",
        "account_owner_email",
        "csm_slack_id",
        "success_manager_email",
        "customer_success_manager_email",
    ),
    "renewal_date": ("renewal", "next_renewal_date", "contract_end", "contract_end_date", "renews_on"),
    "contract_start": ("contract_start_date", "start_date", "customer_since"),
    "stage": ("lifecycle_stage", "customer_stage", "account_stage"),
    "licensed_users": ("seats", "licenses", "licensed_seats", "seat_count"),
    "account": ("account_name", "account_id", "company", "customer", "external_id", "name"),
    "date": ("snapshot_date", "response_date", "day", "as_of"),
    "active_users": ("active", "mau", "monthly_active_users", "active_seats"),
    "feature_adoption_pct": ("feature_adoption", "adoption", "adoption_pct", "adoption_percent"),
    "score": ("nps", "nps_score", "rating"),
    "respondent": ("email", "respondent_email", "contact", "contact_email"),
    "comment": ("comments", "feedback", "verbatim", "reason"),
}
DELIMITERS = (",", ";", "\t", "|")


def normalize_header(text: str) -> str:
    """'  Annual Recurring Revenue ($) ' -> 'annual_recurring_revenue'."""
    return re.sub(r"[^0-9a-z]+", "_", text.lstrip("\ufeff").strip().lower()).strip("_")


class Header(list[str]):
    """The header as the importer's column names, remembering what the file said
    (`original`) so a message can name the columns as the person sees them."""

    original: list[str]


def sniff_delimiter(first_line: str) -> str:
    """The delimiter the header row uses most outside quotes (comma when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in first_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _canonical(names: list[str], columns: Iterable[str] | None) -> list[str]:
    """Each header cell's column: itself when exact, else the column it is an alias
    of (the first cell wins when two name one column); unknown cells stay as written."""
    known = list(columns) if columns is not None else []
    normalized = [normalize_header(n) for n in names]
    result = list(normalized)
    taken = {n for n in normalized if n in known}
    for i, norm in enumerate(normalized):
        if norm in known:
            continue
        target = next((c for c in known if norm in ALIASES.get(c, ()) and c not in taken), None)
        if target is not None:
            result[i] = target
            taken.add(target)
        elif columns is not None:
            result[i] = names[i].lstrip("\ufeff").strip()
    return result


def read_csv(
    stream: TextIO, columns: Iterable[str] | None = None
) -> tuple[Header, list[tuple[int, dict[str, str]]]]:
    """Header (as `columns` names, aliases matched) and (line number, row) pairs;
    blank lines skipped. The delimiter is sniffed from the header row; a UTF-8 BOM
    is dropped."""
    text = stream.read().lstrip("\ufeff")
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = Header()
    try:
        raw = next(reader)
    except StopIteration:
        header.original = []
        return header, []
    header.extend(_canonical(raw, columns))
    header.original = [h.strip() for h in raw]
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


def check_header(header: list[str], required: Iterable[str], optional: Iterable[str]) -> list[str]:
    """Raise ImportRejected for missing columns (naming the columns read and the
    closest of them); return the unknown ones (ignored)."""
    if not header:
        raise ImportRejected([RowError(1, "the file is empty: it needs a header row")])
    known = set(required) | set(optional)
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportRejected([RowError(1, _missing_message(header, missing, known))])
    return [h for h in header if h not in known]


def _missing_message(header: list[str], missing: list[str], known: set[str]) -> str:
    original = getattr(header, "original", list(header))
    unmatched = [o for o, h in zip(original, header, strict=False) if h not in known]
    hints = []
    for column in missing:
        names = [column, *ALIASES.get(column, ())]
        close = [
            o for o in unmatched if difflib.get_close_matches(normalize_header(o), names, n=1, cutoff=0.6)
        ]
        if close:
            hints.append(f"{column} looks like {close[0]!r}: rename that column to {column}")
    read = ", ".join(
        repr(o) + (f" (as {h})" if h in known and normalize_header(o) != h else "")
        for o, h in zip(original, header, strict=False)
    )
    line = f"missing required column(s): {', '.join(missing)}; the columns read were {read}"
    if hints:
        line += "; " + "; ".join(hints)
    return line + " (--help lists every column and its other names)"


DATE_FORMS = "YYYY-MM-DD, YYYY/MM/DD, or a date-time starting with YYYY-MM-DD"


def parse_date(value: str, column: str) -> date:
    """A date as CRMs export it: ISO, with slashes, or a timestamp's date part.
    Day/month orders such as 03/04/2027 are refused: they read two ways."""
    raw = value.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]\S.*)?", raw)
    try:
        if match is None:
            raise ValueError
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a date in YYYY-MM-DD form") from None


def write_plan(
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


def audit_import(session: Session, at: datetime, actor: str, kind: str, result: ImportResult) -> None:
    detail = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    audit.record(session, at, actor, f"{kind}.import", kind, None, detail)
    session.flush()
