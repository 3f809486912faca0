"""The director's headline figures on the Home tab (PRODUCT.md §2.1, §6.1),
taken from the metrics module, never recomputed here."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from bot.settings import Settings


def figure_blocks(session: Session, settings: Settings, today: date) -> list[dict[str, Any]]:
    """The week's headline figures with their week-over-week change."""
    return []
