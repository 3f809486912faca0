"""The health part of the account card: score, band, 30-day trend, reasons."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.clock import ManualClock
from bot.health.blocks import health_section_blocks
from bot.health.evaluation import account_health
from models.tables import Account, HealthSnapshot, Touchpoint
from tests.harness import START


def test_card_section_shows_score_band_trend_and_reasons(session: Session) -> None:
    clock = ManualClock(START)
    today = START.date()
    acme = Account(name="Acme", arr_cents=1, created_at=START, updated_at=START)
    other = Account(name="Other", arr_cents=1, created_at=START, updated_at=START)
    session.add_all([acme, other])
    session.flush()
    session.add(
        Touchpoint(
            account_id=acme.id,  # type: ignore[arg-type]
            author_slack_id="UCSM1",
            type="call",
            occurred_at=START - timedelta(days=37),
            sentiment=-1,
            created_at=START,
        )
    )
    for days_ago, score in ((40, 10), (30, 90), (20, 80), (10, 60), (1, 50)):  # the one at 40 days is out
        session.add(HealthSnapshot(account_id=acme.id, date=today - timedelta(days=days_ago), score=score))  # type: ignore[arg-type]
        session.add(HealthSnapshot(account_id=other.id, date=today - timedelta(days=days_ago), score=1))  # type: ignore[arg-type]
    session.commit()

    view = account_health(session, clock, acme.id)  # type: ignore[arg-type]
    assert view.health is not None
    h = view.health.health
    # recency 50 *25, sentiment 0 *15, escalations 100 *15, over 55: 50
    assert (h.score, h.band) == (50, "yellow")
    assert [s for _, s in view.trend] == [90, 80, 60, 50, 50]
    blocks = health_section_blocks(h.score, h.band, view.trend, h.reasons, view.health.risks)
    assert blocks == [
        {
            "type": "section",
            "block_id": "health",
            "text": {
                "type": "mrkdwn",
                "text": "*Health:* :large_yellow_circle: *50* (yellow)\n"
                "30-day trend █▇▅▄▄ ↓ 40 since 10-21 (90 → 50)\n"
                "• last touchpoint: negative\n"
                "• no touchpoint in 37 days\n"
                "• no open escalations\n"
                "• no usage data: product adoption not scored\n"
                "• no NPS response in 90 days: NPS not scored\n"
                "• scored on 3 of 5 measures (weights re-normalised)",
            },
        }
    ]


def test_card_section_for_an_account_with_no_data() -> None:
    blocks = health_section_blocks(None, None, [], [])
    assert blocks[0]["text"]["text"] == (
        "*Health:* not scored yet (no touchpoints, usage, NPS or escalations recorded)\n"
        "30-day trend: not enough history yet"
    )
