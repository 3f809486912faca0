"""What the account card shows, read in two small queries (the account with
its open escalations count, then its last touchpoints)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from bot.errors import NotFound
from models.tables import Account, Escalation, Touchpoint

LAST_TOUCHPOINTS = 5


@dataclass(frozen=True)
class TouchpointLine:
    id: int
    author_slack_id: str
    type: str
    occurred_at: datetime
    sentiment: int
    note: str


@dataclass(frozen=True)
class AccountCard:
    id: int
    name: str
    arr_cents: int
    segment: str | None
    csm_slack_id: str | None
    renewal_date: date | None
    stage: str | None
    open_escalations: int
    touchpoints: tuple[TouchpointLine, ...]


def load_account_card(session: Session, account_id: int, *, last: int = LAST_TOUCHPOINTS) -> AccountCard:
    open_escalations = (
        select(func.count(Escalation.id))
        .where(Escalation.account_id == Account.id, Escalation.status != "resolved")
        .scalar_subquery()
    )
    row = session.execute(
        select(Account, open_escalations.label("open_escalations")).where(Account.id == account_id)
    ).first()
    if row is None:
        raise NotFound("That account no longer exists.")
    account, escalations = row
    tps = session.execute(
        select(Touchpoint)
        .where(Touchpoint.account_id == account_id, Touchpoint.deleted_at.is_(None))  # type: ignore[union-attr]
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())  # type: ignore[union-attr]
        .limit(last)
    ).scalars()
    return AccountCard(
        id=account.id,
        name=account.name,
        arr_cents=account.arr_cents,
        segment=account.segment,
        csm_slack_id=account.csm_slack_id,
        renewal_date=account.renewal_date,
        stage=account.stage,
        open_escalations=int(escalations or 0),
        touchpoints=tuple(
            TouchpointLine(
                id=tp.id,
                author_slack_id=tp.author_slack_id,
                type=tp.type,
                occurred_at=tp.occurred_at,
                sentiment=tp.sentiment,
                note=tp.note,
            )
            for tp in tps
        ),
    )


# Sections other features add to the card (the health score, PRODUCT.md §4), each
# `fn(session, card, tz, today) -> blocks`, shown right after the header, in
# the order added. They run inside the card's read session: keep them to a query.
CardSection = Callable[[Session, AccountCard, ZoneInfo, date], "list[dict[str, Any]]"]
CARD_SECTIONS: list[CardSection] = []


def add_card_section(fn: CardSection) -> None:
    if fn not in CARD_SECTIONS:
        CARD_SECTIONS.append(fn)


def card_sections(
    session: Session, card: AccountCard, tz: ZoneInfo, today: date, extra: Iterable[CardSection] = ()
) -> list[dict[str, Any]]:
    """The process-wide sections, then `extra` (an app's own, e.g. `Deps.card_sections`:
    those that need the app's clock or settings and must not outlive the app)."""
    return [block for fn in (*CARD_SECTIONS, *extra) for block in fn(session, card, tz, today)]
