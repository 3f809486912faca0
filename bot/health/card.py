"""The account card's health section (PRODUCT.md §4, on the account card): today's score,
band, 30-day trend and reasons, computed live like `/cs risk`."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.accounts.card import AccountCard, CardSection
from bot.clock import Clock
from bot.health.blocks import health_section_blocks
from bot.health.evaluation import account_health
from bot.health.scorecard import DEFAULT_SCORECARD, Scorecard

SECTION_NAME = "health"


def health_card_section(
    clock: Clock, scorecard: Scorecard = DEFAULT_SCORECARD, team_tz: str = "UTC"
) -> CardSection:
    """A card section bound to one app's clock, scorecard and team time zone (the
    day the snapshots are dated by; see `Deps.card_sections`)."""

    def section(session: Session, card: AccountCard, tz: ZoneInfo, today: date) -> list[dict[str, Any]]:
        view = account_health(session, clock, card.id, scorecard, tz=team_tz)
        if view.health is None:
            return health_section_blocks(None, None, view.trend, [])
        h = view.health
        return health_section_blocks(h.health.score, h.health.band, view.trend, h.health.reasons, h.risks)

    return section


def add_health_to_card(
    card_sections: dict[str, Any], clock: Clock, scorecard: Scorecard, team_tz: str = "UTC"
) -> None:
    """Register (or replace) the health section of one app's card."""
    card_sections[SECTION_NAME] = health_card_section(clock, scorecard, team_tz)
