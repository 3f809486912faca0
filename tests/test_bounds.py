"""Bounds on what people type (PRODUCT.md §2: nothing is written on bad input):
a day to come is refused as a date, never kept as the note's first word; an amount
over the ceiling is refused in one sentence; a database error never reaches the
user or logs what they typed."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.errors import BadInput
from bot.money import MAX_CENTS, AmountTooLarge, parse_dollars
from bot.touchpoints.grammar import LogParseError, parse_log
from handlers.cs_command import error_reply
from models.db import session_scope
from models.tables import Expansion, RenewalEvent, Touchpoint
from tests.escalation_helpers import seed_team
from tests.harness import Bot

FRI = date(2026, 11, 20)


@pytest.mark.parametrize("word", ["tomorrow", "Tomorrow", "tmrw", "tommorow", "+3d", "in2d"])
def test_a_day_to_come_is_refused_as_a_date(word: str) -> None:
    with pytest.raises(LogParseError) as caught:
        parse_log(f"Acme call {word} kickoff prep", today=FRI, is_account=lambda n: n == "Acme")
    assert f"`{word}` is in the future (today is Fri 2026-11-20 in your time zone)." in caught.value.message


def test_words_like_dates_in_the_note_after_the_date_stay_in_the_note() -> None:
    cmd = parse_log(
        "Acme call yesterday planned tomorrow's demo", today=FRI, is_account=lambda n: n == "Acme"
    )
    assert cmd.on == date(2026, 11, 19) and cmd.note == "planned tomorrow's demo"


def test_log_tomorrow_end_to_end_writes_nothing(bot: Bot) -> None:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    bot.deps.ack_budget_seconds = 30.0  # answers in the HTTP reply even on a loaded machine
    answer = bot.send.command("log Globex call tomorrow QBR prep", user_id="UCSM2").json()
    assert "`tomorrow` is in the future" in answer["text"]
    with session_scope(bot.engine) as s:
        assert s.exec(select(func.count()).select_from(Touchpoint)).one() == 0


def test_the_ceiling_is_ten_billion_dollars() -> None:
    assert parse_dollars("$10b") == MAX_CENTS == 10_000_000_000 * 100
    assert parse_dollars("9,999,999,999.99") == MAX_CENTS - 1
    for too_big in ("$10,000,000,000.01", "10.5b", "1000000000000000", "9" * 40):
        with pytest.raises(AmountTooLarge) as caught:
            parse_dollars(too_big)
        assert isinstance(caught.value, BadInput) and isinstance(caught.value, ValueError)
        assert "is more than $10,000,000,000, the most an amount may be" in caught.value.message


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("upsell Acme Corp $1,000,000,000,000,000 seats", Expansion),
        ("upsell Acme Corp 99999999999999999999999999999 seats", Expansion),
        ("renewal Acme Corp renewed 1000000000000000", RenewalEvent),
    ],
)
def test_a_huge_amount_is_refused_in_one_sentence_and_writes_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture, text: str, table: type
) -> None:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    bot.deps.ack_budget_seconds = 30.0  # answers in the HTTP reply even on a loaded machine
    caplog.set_level(logging.INFO)
    answer = bot.send.command(text, user_id="UCSM1").json()
    assert "the most an amount may be. Nothing was recorded" in answer["text"]
    assert "Something went wrong" not in answer["text"]
    with session_scope(bot.engine) as s:
        assert s.exec(select(func.count()).select_from(table)).one() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_database_error_reaches_neither_the_user_nor_the_log_with_what_was_typed(
    caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    caplog.set_level(logging.INFO)
    try:
        with session_scope(engine) as s:
            s.execute(
                text("INSERT INTO expansion (account_id, amount_cents) VALUES (1, :b)"), {"b": "SECRET-NOTE"}
            )
    except Exception as exc:  # noqa: BLE001 - the error the listener would see
        reply = error_reply(exc)
    assert "Something went wrong on our side (reference" in reply.text and "SECRET" not in reply.text
    logged = [r for r in caplog.records if r.name == "handlers.cs_command"]
    assert len(logged) == 1 and logged[0].exc_info is None
    assert "SECRET-NOTE" not in logged[0].getMessage() and "INSERT INTO expansion" in logged[0].getMessage()
