"""`/cs subscribe`, `/cs unsubscribe`, `/cs subscriptions` end to end (PRODUCT.md §2):
signed commands over HTTP, the Outbox worker running, Slack faked."""

from __future__ import annotations

import pytest
from sqlmodel import select

from jobs.outbox import OutboxWorker
from models.db import session_scope
from models.tables import Account, AuditLog, Member, Subscription
from tests.harness import START, Bot


def _seed(bot: Bot) -> None:
    with session_scope(bot.engine) as s:
        s.add(Member(slack_id="UDIR1", role="director", name="dana", created_at=START, updated_at=START))
        s.add(Member(slack_id="UCSM1", role="csm", name="casey", created_at=START, updated_at=START))
        s.add(Account(name="Acme", segment="Enterprise", arr_cents=100, created_at=START, updated_at=START))
        s.add(Account(name="Beta", segment="SMB", arr_cents=100, created_at=START, updated_at=START))


def _subs(bot: Bot) -> list[tuple[str, str, str | None, str | None, int | None, str, str]]:
    with session_scope(bot.engine) as s:
        rows = s.exec(select(Subscription).order_by(Subscription.id)).all()
        return [
            (r.channel_id, r.kind, r.filter_segment, r.filter_csm, r.day, r.time_of_day, r.tz) for r in rows
        ]


def test_a_csm_is_told_which_role_it_needs_and_nothing_is_written(
    bot: Bot, outbox_worker: OutboxWorker
) -> None:
    _seed(bot)
    reply = bot.send.command("subscribe digest", user_id="UCSM1", channel_id="CDIGEST").json()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(
        "Only a *director* or *admin* can subscribe a channel to alerts or digests; your role is *csm*."
    )
    assert _subs(bot) == []
    assert bot.fake.calls_to("conversations.info") == []
    unsub = bot.send.command("unsubscribe digest", user_id="UCSM1", channel_id="CDIGEST").json()
    assert "Only a *director* or *admin* can unsubscribe" in unsub["text"]
    assert bot.fake.messages_in("CDIGEST") == []


def test_bot_not_in_channel_says_how_to_invite_it(bot: Bot, outbox_worker: OutboxWorker) -> None:
    _seed(bot)
    reply = bot.send.command("subscribe alerts", user_id="UDIR1", channel_id="CNOBOT").json()
    assert "I'm not in this channel yet" in reply["text"]
    assert "`/invite @csbot`" in reply["text"]
    assert bot.fake.calls_to("conversations.info")[0].args["channel"] == "CNOBOT"
    assert _subs(bot) == []


def test_digest_schedule_is_stored_with_its_time_zone_and_announced(
    bot: Bot, outbox_worker: OutboxWorker
) -> None:
    _seed(bot)
    reply = bot.send.command(
        "subscribe digest enterprise fri 16:30 Europe/Paris", user_id="UDIR1", channel_id="CDIGEST"
    ).json()
    assert _subs(bot) == [("CDIGEST", "digest", "Enterprise", None, 4, "16:30", "Europe/Paris")]
    # The clock says Friday 16:00 in Paris, so the first one is in half an hour.
    assert reply["text"] == (
        ":white_check_mark: Done: this channel will get the weekly digest for the *Enterprise* segment, "
        "every *Friday at 16:30* (Europe/Paris); next: Fri 20 Nov 16:30.\n"
        "Stop it with `/cs unsubscribe digest`.\n"
        "_Each digest covers the last complete week, Monday to Sunday in Europe/Paris: the figures with "
        "their change, a table per CSM, the accounts at risk, renewals and escalations, and a chart in its "
        "thread._"
    )
    # The channel hears about it too: queued by the request, sent by the worker without a poll.
    assert bot.fake.wait_for(lambda: bot.fake.messages_in("CDIGEST"))
    notice = bot.fake.messages_in("CDIGEST")[0]
    assert notice["text"] == (
        "<@UDIR1> set this channel to receive the weekly digest for the *Enterprise* segment, "
        "every *Friday at 16:30* (Europe/Paris). `/cs subscriptions` shows what it gets."
    )
    with session_scope(bot.engine) as s:
        audit = s.exec(select(AuditLog)).one()
    assert (audit.actor_slack_id, audit.action, audit.detail["tz"]) == (
        "UDIR1",
        "subscription.create",
        "Europe/Paris",
    )


def test_alerts_for_a_csm_default_time_and_zone_then_list_and_unsubscribe(
    bot: Bot, outbox_worker: OutboxWorker
) -> None:
    _seed(bot)
    # Slack sends a picked user escaped as <@U…|name>.
    first = bot.send.command("subscribe alerts <@UCSM1|casey>", user_id="UDIR1", channel_id="CALERTS").json()
    assert first["text"].startswith(
        ":white_check_mark: Done: this channel will get the at-risk alerts for <@UCSM1>'s accounts, "
        "at most once a day, at *09:00* (America/New_York)"
    )
    # …or typed plainly as @name when the app does not escape.
    bot.send.command("subscribe digest @casey", user_id="UADMIN", channel_id="CALERTS")
    assert _subs(bot) == [
        ("CALERTS", "alerts", None, "UCSM1", None, "09:00", "America/New_York"),
        ("CALERTS", "digest", None, "UCSM1", 0, "09:00", "America/New_York"),
    ]
    listing = bot.send.command("subscriptions", user_id="UCSM1", channel_id="CALERTS").json()
    assert listing["text"] == (
        "This channel gets:\n"
        "• the at-risk alerts for <@UCSM1>'s accounts, at most once a day, at *09:00* (America/New_York), "
        "when accounts newly become at risk; next: Sat 21 Nov 09:00\n"
        "• the weekly digest for <@UCSM1>'s accounts, every *Monday at 09:00* (America/New_York); "
        "next: Mon 23 Nov 09:00"
    )

    bye = bot.send.command("unsubscribe digest", user_id="UDIR1", channel_id="CALERTS").json()
    assert bye["text"] == ":white_check_mark: This channel will no longer get the weekly digest."
    assert _subs(bot) == [("CALERTS", "alerts", None, "UCSM1", None, "09:00", "America/New_York")]
    assert bot.fake.wait_for(lambda: len(bot.fake.messages_in("CALERTS")) == 3)
    assert (
        bot.fake.messages_in("CALERTS")[-1]["text"] == "<@UDIR1> stopped the weekly digest in this channel."
    )
    again = bot.send.command("unsubscribe digest", user_id="UDIR1", channel_id="CALERTS").json()
    assert again["text"] == "This channel gets no weekly digest; `/cs subscriptions` lists what it gets."


def test_bad_subscribe_input_says_what_is_wrong(bot: Bot) -> None:
    _seed(bot)
    cases = {
        "subscribe weekly": "Say what this channel should get: `alerts` or `digest`.",
        "subscribe alerts mon": "Alerts are posted every day they change; a day only applies to the digest.",
        "subscribe digest 25:00": "`25:00` is not a time of day",
        "subscribe digest Mars/Olympus": "`Mars/Olympus` is not a time zone",
        "subscribe digest midmarket": "called `midmarket`. Segments: Enterprise, SMB.",
        "subscribe digest @nobody": "I don't know who @nobody is",
        "subscribe digest smb <@UCSM1>": "Filter by a segment or by a CSM, not both.",
    }
    for command, expected in cases.items():
        text = bot.send.command(command, user_id="UDIR1", channel_id="CDIGEST").json()["text"]
        assert expected in text, command
        assert "/cs subscribe <alerts|digest> [segment|@csm] [day] [HH:MM] [tz]" in text
    assert _subs(bot) == []


def test_help_subscribe_explains_the_options(bot: Bot) -> None:
    text = bot.send.command("help subscribe").json()["text"]
    assert text.startswith("`/cs subscribe <alerts|digest> [segment|@csm] [day] [HH:MM] [tz]` — route alerts")
    assert "Example: `/cs subscribe digest enterprise mon 09:00 Europe/Paris`." in text


@pytest.mark.parametrize(
    ("kind", "day", "time_of_day", "tz", "now", "expected"),
    [
        # New York falls back on Sun 1 Nov 2026: a 25-hour day.
        (
            "alerts",
            None,
            "00:30",
            "America/New_York",
            "2026-11-01T10:00:00+00:00",
            "2026-11-02T05:30:00+00:00",
        ),
        # Paris falls back on Sun 25 Oct 2026; a Monday digest that week.
        ("digest", 0, "00:30", "Europe/Paris", "2026-10-21T12:00:00+00:00", "2026-10-25T23:30:00+00:00"),
        # New York springs forward on Sun 8 Mar 2026: Saturday 23:30 is still Saturday.
        (
            "alerts",
            None,
            "23:30",
            "America/New_York",
            "2026-03-08T03:00:00+00:00",
            "2026-03-08T04:30:00+00:00",
        ),
        # Exactly at the posting time: the next one, not this one.
        ("alerts", None, "09:00", "UTC", "2026-11-20T09:00:00+00:00", "2026-11-21T09:00:00+00:00"),
        ("alerts", None, "09:00", "UTC", "2026-11-20T08:59:59.500000+00:00", "2026-11-20T09:00:00+00:00"),
    ],
)
def test_next_post_across_daylight_saving_changes(
    kind: str, day: int | None, time_of_day: str, tz: str, now: str, expected: str
) -> None:
    from datetime import datetime

    from bot.delivery.subscriptions import next_post

    sub = Subscription(channel_id="C1", kind=kind, day=day, time_of_day=time_of_day, tz=tz, created_by="U1")
    assert next_post(sub, datetime.fromisoformat(now)) == datetime.fromisoformat(expected)
