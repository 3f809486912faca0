"""Undo for every write a command makes (PRODUCT.md §2: "every write answers
with a confirmation that has an Undo button, valid 10 minutes").

A kind of undoable row registers once: its table, who may undo it, and the
audit action. Undo soft-deletes (sets deleted_at) and writes an AuditLog row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, SQLModel

from bot import audit
from bot.clock import Clock
from bot.errors import BadInput, NotAllowed, NotFound
from bot.revenue import outcomes
from bot.slack.action_ids import ActionId
from bot.slack.elements import button
from models.tables import Expansion, NpsResponse, RenewalEvent, Touchpoint

UNDO_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class UndoKind:
    model: type[SQLModel]
    author_field: str  # the column holding who made the row; only they may undo it
    label: str  # "touchpoint", shown to the user
    # what undoing does besides soft-deleting the row (the ARR ledger: §6.0); it sets deleted_at itself
    reverse: Callable[[Session, Any, datetime], None] | None = None


def _undo_renewal(session: Session, row: Any, now: datetime) -> None:
    outcomes.undo_outcome(session, row, now=now)


def _undo_upsell(session: Session, row: Any, now: datetime) -> None:
    outcomes.undo_upsell(session, row, now=now)


UNDO_KINDS: dict[str, UndoKind] = {
    "touchpoint": UndoKind(Touchpoint, "author_slack_id", "touchpoint"),
    "nps": UndoKind(NpsResponse, "recorded_by", "NPS response"),
    "renewal": UndoKind(RenewalEvent, "recorded_by", "renewal outcome", _undo_renewal),
    "upsell": UndoKind(Expansion, "recorded_by", "up-sell", _undo_upsell),
}


def undo_value(kind: str, row_id: int) -> str:
    return json.dumps({"kind": kind, "id": row_id}, separators=(",", ":"))


def undo_button(kind: str, row_id: int) -> dict[str, Any]:
    """The Undo button for a confirmation message."""
    if kind not in UNDO_KINDS:
        raise ValueError(f"unknown undo kind {kind!r}")
    return button(ActionId.UNDO, "Undo", undo_value(kind, row_id), style="danger")


def perform_undo(session: Session, clock: Clock, user_id: str, value: str) -> str:
    """Soft-delete the row named by an Undo button; return the sentence to show."""
    try:
        parsed = json.loads(value)
        kind = UNDO_KINDS[parsed["kind"]]
        row_id = int(parsed["id"])
    except (ValueError, KeyError, TypeError):
        raise BadInput("That Undo button is not valid any more.") from None
    row = session.get(kind.model, row_id)
    if row is None:
        raise NotFound(f"That {kind.label} no longer exists.")
    if getattr(row, "deleted_at", None) is not None:
        return f"That {kind.label} was already undone."
    if getattr(row, kind.author_field) != user_id:
        raise NotAllowed(f"Only the person who recorded this {kind.label} can undo it.")
    now = clock.now()
    if now - row.created_at > UNDO_WINDOW:  # type: ignore[attr-defined]
        raise BadInput(
            "Too late to undo: Undo works for 10 minutes after recording. "
            f"Ask an admin to correct this {kind.label}."
        )
    if kind.reverse is not None:
        try:
            kind.reverse(session, row, now)
        except ValueError as exc:  # the ledger refuses (ARR would go below $0)
            raise BadInput(f"Not undone: {exc}.") from None
    else:
        row.deleted_at = now  # type: ignore[attr-defined]
        session.add(row)
    audit.record(session, now, user_id, f"{parsed['kind']}.undo", kind.model.__tablename__, row_id)  # type: ignore[attr-defined]
    session.flush()
    return f"Undone: the {kind.label} was removed."
