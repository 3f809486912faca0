"""One way to write an AuditLog row (PRODUCT.md §3), so every change the bot makes
is recorded with the same columns, whichever command or job made it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from models.tables import AuditLog

# Built once for the latency-sensitive paths that insert with Core (see bot/touchpoints.py):
# parameters go in at execute time, so each call reuses the cached compiled statement.
INSERT = insert(AuditLog.__table__)  # type: ignore[attr-defined]


def values(
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one audit row; `entity_id` is stored as text."""
    return {
        "at": at,
        "actor_slack_id": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "detail": dict(detail or {}),
    }


def record(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add the audit row to the session; it is written with the caller's unit of work."""
    session.add(AuditLog(**values(at, actor, action, entity, entity_id, detail)))
