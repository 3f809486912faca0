"""One way to write an AuditLog row (PRODUCT.md §3), so every change the bot makes
is recorded with the same columns, whichever command or job made it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from models.tables import AuditLog

# Built once: parameters go in at execute time, so each call reuses the cached compiled statement.
_INSERT = insert(AuditLog.__table__)  # type: ignore[attr-defined]


def record(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
    *,
    core: bool = False,
) -> None:
    """Write the audit row with the caller's unit of work (`entity_id` is stored as text).
    `core=True` inserts it at once with a prebuilt Core statement and no ORM object, for
    the latency-sensitive `/cs log` path (bot/touchpoints.py)."""
    row = {
        "at": at,
        "actor_slack_id": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "detail": dict(detail or {}),
    }
    if core:
        session.execute(_INSERT, row)
    else:
        session.add(AuditLog(**row))
