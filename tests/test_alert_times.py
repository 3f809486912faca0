"""At-risk alerts at each subscription's own time (PRODUCT.md §2 `/cs subscribe alerts
… HH:MM tz`, §4), both databases, the clock moved by hand: the nightly job (07:00 in
CSBOT_TZ, America/New_York in the tests) only scores; every alerts subscription's job
posts the news since its last post, at its time in its time zone, once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.delivery.subscriptions import describe, next_post
from bot.slack.action_ids import ActionId
from jobs.outbox import deliver_due
from jobs.registry import load_specs
from jobs.scheduler import catch_up, run_if_due
from models.db import session_scope
from models.tables import Alert, HealthSnapshot, NpsResponse, Outbox, Subscription
from tests.escalation_helpers import flush
from tests.harness import START, Bot
from tests.test_health_job import listed, portfolio, subscribe, touch

SAT = datetime(2026, 11, 21, tzinfo=UTC)
SUN = SAT + timedelta(days=1)


def tick(bot: Bot, when: datetime) -> dict[str, str]:
    """Move the clock to `when` and do what the scheduler's sweep does there: run
    every job whose period is due and not done (in the registry's order); then deliver."""
    bot.clock.set(when)
    outcomes = catch_up(bot.engine, bot.clock, load_specs(bot.deps.settings, bot.engine))
    while deliver_due(bot.engine, bot.deps.client, bot.clock):
        pass
    return {name: outcome for name, outcome in outcomes.items() if name != "escalation_policy"}


def sub(bot: Bot, channel: str) -> Subscription:
    with session_scope(bot.engine) as s:
        row = s.exec(select(Subscription).where(Subscription.channel_id == channel)).one()
        s.expunge(row)
        return row


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def test_two_channels_get_the_news_once_each_at_their_own_time_and_zone(bot: Bot) -> None:
    subscribe(bot, "CALERTS", time_of_day="08:00", tz="America/New_York")  # 13:00 UTC
    subscribe(bot, "CGENERAL", time_of_day="09:00", tz="Europe/Paris")  # 08:00 UTC
    # Friday: everything due has run, with no accounts yet.
    assert tick(bot, START) == {"health": "ok", "alerts:CALERTS": "ok", "alerts:CGENERAL": "ok"}
    portfolio(bot)  # Acme, Initech and Globex will be at risk

    # Saturday 09:00 in Paris (03:00 in New York): before the 07:00 scoring, so no news yet.
    assert tick(bot, SAT + timedelta(hours=8)) == {
        "health": "not due",
        "alerts:CALERTS": "not due",
        "alerts:CGENERAL": "ok",
    }
    assert bot.fake.messages_in("CGENERAL") == []
    # 07:00 in New York: scored, news recorded, nothing posted.
    assert tick(bot, SAT + timedelta(hours=12))["health"] == "ok"
    with session_scope(bot.engine) as s:
        alerts = s.exec(select(Alert).where(Alert.state == "open")).all()
        assert len(alerts) == 3
        assert {a.news_at for a in alerts} == {SAT + timedelta(hours=12)}
    assert bot.fake.messages_in("CALERTS") == [] and bot.fake.messages_in("CGENERAL") == []
    # What /cs subscriptions says about each channel is what happens next.
    now = bot.clock.now()
    assert describe(sub(bot, "CALERTS"), now) == (
        "the at-risk alerts for all accounts, at most once a day, at *08:00* (America/New_York), "
        "when accounts newly become at risk; next: Sat 21 Nov 08:00"
    )
    assert describe(sub(bot, "CGENERAL"), now).endswith(
        "at *09:00* (Europe/Paris), when accounts newly become at risk; next: Sun 22 Nov 09:00"
    )
    assert next_post(sub(bot, "CALERTS"), now) == SAT + timedelta(hours=13)
    assert next_post(sub(bot, "CGENERAL"), now) == SUN + timedelta(hours=8)

    tick(bot, SAT + timedelta(hours=12, minutes=59))
    assert bot.fake.messages_in("CALERTS") == []
    assert tick(bot, SAT + timedelta(hours=13))["alerts:CALERTS"] == "ok"  # 08:00 in New York
    (ny,) = bot.fake.messages_in("CALERTS")
    assert listed(ny) == ["Acme", "Initech", "Globex"]
    assert ny["text"].startswith("3 accounts newly at risk: Acme, Initech, Globex")
    assert ny["blocks"][0]["text"]["text"] == ":rotating_light: 3 accounts newly at risk (Nov 21)"
    assert bot.fake.messages_in("CGENERAL") == []

    for when in (SAT + timedelta(hours=20), SUN + timedelta(hours=7, minutes=59)):
        tick(bot, when)
    assert bot.fake.messages_in("CGENERAL") == []
    tick(bot, SUN + timedelta(hours=8))  # Sunday 09:00 in Paris: the news of New York's Saturday
    (paris,) = bot.fake.messages_in("CGENERAL")
    assert listed(paris) == ["Acme", "Initech", "Globex"]
    assert paris["text"] == ny["text"]
    assert paris["blocks"][0]["text"]["text"] == ":rotating_light: 3 accounts newly at risk (Nov 22)"
    # Same accounts, reasons and buttons; the reasons' words are as of the posting time.
    assert [b.get("block_id") for b in paris["blocks"]] == [b.get("block_id") for b in ny["blocks"]]
    assert [b for b in paris["blocks"] if b["type"] == "actions"] == [
        b for b in ny["blocks"] if b["type"] == "actions"
    ]
    assert "• no touchpoint in 61 days" in ny["blocks"][1]["text"]["text"]
    assert "• no touchpoint in 62 days" in paris["blocks"][1]["text"]["text"]

    # Nothing new for two more days: each channel still has its one message.
    for day in (SUN, SUN + timedelta(days=1), SUN + timedelta(days=2)):
        for hour in (8, 12, 13):
            tick(bot, day + timedelta(hours=hour))
    assert len(bot.fake.messages_in("CALERTS")) == 1
    assert len(bot.fake.messages_in("CGENERAL")) == 1


def test_a_channel_subscribed_after_the_news_only_gets_later_news_at_its_next_time(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS", time_of_day="08:00", tz="America/New_York")
    tick(bot, SAT + timedelta(hours=12))  # 07:00 in New York: the news
    bot.clock.set(SAT + timedelta(hours=12, minutes=30))
    subscribe(bot, "CDIGEST", time_of_day="08:00", tz="America/New_York")  # after it
    outcomes = tick(bot, SAT + timedelta(hours=13))
    assert outcomes["alerts:CALERTS"] == "ok" and outcomes["alerts:CDIGEST"] == "ok"
    assert [listed(m) for m in bot.fake.messages_in("CALERTS")] == [["Acme", "Initech", "Globex"]]
    assert bot.fake.messages_in("CDIGEST") == []

    # News after a posting time goes out at the next one: an NPS 3 for Initech at 10:00.
    bot.clock.set(SAT + timedelta(hours=15))
    with session_scope(bot.engine) as s:
        s.add(
            NpsResponse(
                account_id=ids["Initech"],
                responded_at=bot.clock.now(),
                score=3,
                respondent="jane@initech",
                created_at=bot.clock.now(),
            )
        )
    tick(bot, SAT + timedelta(hours=15))
    assert len(bot.fake.messages_in("CALERTS")) == 1 and bot.fake.messages_in("CDIGEST") == []
    tick(bot, SUN + timedelta(hours=12))  # Sunday 07:00 in New York: a new reason is news
    assert len(bot.fake.messages_in("CALERTS")) == 1 and bot.fake.messages_in("CDIGEST") == []
    tick(bot, SUN + timedelta(hours=13))  # 08:00: both channels, only Initech
    for channel, count in (("CALERTS", 2), ("CDIGEST", 1)):
        messages = bot.fake.messages_in(channel)
        assert len(messages) == count, channel
        assert listed(messages[-1]) == ["Initech"]
        assert messages[-1]["text"] == "1 account newly at risk: Initech"
        assert "• NPS 3 from jane@initech on 11-21" in messages[-1]["blocks"][1]["text"]["text"]


def test_an_account_snoozed_or_recovered_before_the_posting_time_is_not_posted(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS", time_of_day="08:00", tz="America/New_York")
    tick(bot, SAT + timedelta(hours=12))  # scored at 07:00: Acme, Initech, Globex are news
    bot.clock.set(SAT + timedelta(hours=12, minutes=30))
    response = bot.send.block_action(
        ActionId.ALERT_SNOOZE, value=str(ids["Initech"]), user_id="UCSM1", channel_id="CALERTS"
    )
    assert response.status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    with session_scope(bot.engine) as s:
        assert s.exec(select(Alert).where(Alert.account_id == ids["Initech"])).one().snoozed_until is not None
    touch(bot, ids["Acme"], 0, sentiment=1, count=3)  # and a good week for Acme: green again
    tick(bot, SAT + timedelta(hours=13))
    assert [listed(m) for m in bot.fake.messages_in("CALERTS")] == [["Globex"]]
    assert bot.fake.messages_in("CALERTS")[0]["text"] == "1 account newly at risk: Globex"


def test_a_channel_at_the_scoring_time_waits_for_the_scoring_instead_of_missing_the_day(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler may start a 07:00 channel's job before the 07:00 scoring has
    committed: that run fails, posts nothing, and is retried once the news is there."""
    caplog.set_level(logging.INFO, logger="jobs.scheduler")
    portfolio(bot)
    subscribe(bot, "CALERTS", time_of_day="07:00", tz="America/New_York")
    specs = {spec.name: spec for spec in load_specs(bot.deps.settings, bot.engine)}
    bot.clock.set(SAT + timedelta(hours=12))  # 07:00 in New York
    outcome = run_if_due(bot.engine, bot.clock, specs["alerts:CALERTS"])
    assert outcome.startswith("error: NewsNotReady: the health job has not finished for 2026-11-21")
    # Waiting for the scoring is expected, not a failure: logged quietly, no traceback.
    waits = [r for r in caplog.records if r.name == "jobs.scheduler" and "not ready" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in waits] == [(logging.INFO, None)]
    assert not [r for r in caplog.records if r.name == "jobs.scheduler" and r.levelno >= logging.ERROR]
    assert run_if_due(bot.engine, bot.clock, specs["health"]) == "ok"
    flush(bot)
    assert bot.fake.messages_in("CALERTS") == []
    bot.clock.advance(minutes=5)  # the scheduler's sweep retries a failed run after five minutes
    assert run_if_due(bot.engine, bot.clock, specs["alerts:CALERTS"]) == "ok"
    flush(bot)
    assert [listed(m) for m in bot.fake.messages_in("CALERTS")] == [["Acme", "Initech", "Globex"]]
    assert run_if_due(bot.engine, bot.clock, specs["alerts:CALERTS"]) == "already ran"


def test_a_late_catch_up_dates_the_snapshots_and_the_message_by_the_teams_day(bot: Bot) -> None:
    portfolio(bot)
    subscribe(bot, "CALERTS", time_of_day="21:00", tz="America/New_York")
    # The bot was down all Friday; it comes back at 21:30 in New York, already Saturday in UTC.
    assert tick(bot, SAT + timedelta(hours=2, minutes=30)) == {"health": "ok", "alerts:CALERTS": "ok"}
    with session_scope(bot.engine) as s:
        assert {x.date for x in s.exec(select(HealthSnapshot)).all()} == {date(2026, 11, 20)}
        keys = [o.key for o in s.exec(select(Outbox).where(Outbox.channel == "CALERTS")).all()]
    assert len(keys) == 1 and keys[0].startswith("alerts:CALERTS:2026-11-20:")
    (message,) = bot.fake.messages_in("CALERTS")
    assert message["blocks"][0]["text"]["text"] == ":rotating_light: 3 accounts newly at risk (Nov 20)"
