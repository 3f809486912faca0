"""What every CSV import shares (PRODUCT.md §3.1): reading the file, checking its
header, the row errors that reject a whole file, the result counts, and the bulk
upsert that writes a validated plan in a few statements."""

from __future__ import annotations

import csv
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


def check_header(header: list[str], required: Iterable[str], optional: Iterable[str]) -> list[str]:
    """Raise ImportRejected for missing columns; return the unknown ones (ignored)."""
    if not header:
        raise ImportRejected([RowError(1, "the file is empty: it needs a header row")])
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportRejected([RowError(1, f"missing required column(s): {', '.join(missing)}")])
    known = set(required) | set(optional)
    return [h for h in header if h not in known]


def parse_date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
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
