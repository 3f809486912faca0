"""The nightly health job on both databases, with the clock moved by hand:
snapshots, one alert message per channel per run, only on change, snooze,
filters, and the alert buttons over signed HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from bot.slack.action_ids import ActionId, CallbackId
from jobs.health import run_health
from jobs.outbox import deliver_due
from models.db import session_scope
from models.tables import (
    Account,
    Alert,
    AuditLog,
    Escalation,
    HealthSnapshot,
    NpsResponse,
    Subscription,
    Touchpoint,
    UsageSnapshot,
)
from tests.harness import Bot


def add_account(
    bot: Bot, name: str, *, arr: int, csm: str, segment: str, renewal_in: int | None = None
) -> int:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        account = Account(
            name=name,
            arr_cents=arr * 100,
            csm_slack_id=csm,
            segment=segment,
            renewal_date=now.date() + timedelta(days=renewal_in) if renewal_in is not None else None,
            created_at=now,
            updated_at=now,
        )
        s.add(account)
        s.flush()
        return account.id  # type: ignore[return-value]


def touch(bot: Bot, account_id: int, days_ago: int, sentiment: int = 0, count: int = 1) -> None:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        for i in range(count):
            s.add(
                Touchpoint(
                    account_id=account_id,
                    author_slack_id="UCSM1",
                    type="call",
                    occurred_at=now - timedelta(days=days_ago, minutes=i),
                    sentiment=sentiment,
                    created_at=now,
                )
            )


def usage(bot: Bot, account_id: int, active: int, licensed: int) -> None:
    with session_scope(bot.engine) as s:
        s.add(
            UsageSnapshot(
                account_id=account_id,
                date=bot.clock.now().date(),
                active_users=active,
                licensed_users=licensed,
            )
        )


def subscribe(
    bot: Bot,
    channel: str,
    *,
    segment: str | None = None,
    csm: str | None = None,
    time_of_day: str = "09:00",
    tz: str = "UTC",
) -> None:
    with session_scope(bot.engine) as s:
        s.add(
            Subscription(
                channel_id=channel,
                kind="alerts",
                filter_segment=segment,
                filter_csm=csm,
                time_of_day=time_of_day,
                tz=tz,
                created_by="UADMIN",
                created_at=bot.clock.now(),
            )
        )


def portfolio(bot: Bot) -> dict[str, int]:
    """Acme red ($500k), Globex redder but small ($50k), Initech yellow and
    renewing in 30 days ($200k), Hooli green. Worst first by ARR: Acme,
    Initech, Globex."""
    ids = {
        "Acme": add_account(bot, "Acme", arr=500_000, csm="UCSM1", segment="enterprise"),
        "Globex": add_account(bot, "Globex", arr=50_000, csm="UCSM2", segment="smb"),
        "Initech": add_account(bot, "Initech", arr=200_000, csm="UCSM1", segment="enterprise", renewal_in=30),
        "Hooli": add_account(bot, "Hooli", arr=900_000, csm="UCSM2", segment="enterprise"),
    }
    touch(bot, ids["Acme"], 60, sentiment=-1, count=3)  # recency 0, sentiment 0, escalations 100: 27
    touch(bot, ids["Globex"], 60, sentiment=-1, count=3)
    with session_scope(bot.engine) as s:  # and a sev1: 0
        s.add(
            Escalation(
                account_id=ids["Globex"],
                severity="sev1",
                summary="down",
                owner_slack_id="UCSM2",
                opened_by="UCSM2",
                opened_at=bot.clock.now(),
            )
        )
    touch(bot, ids["Initech"], 3, sentiment=0)  # recency 100, sentiment 50,
    usage(bot, ids["Initech"], 35, 100)  # adoption 35 %: 25 -> 67 yellow, renewing: at risk
    touch(bot, ids["Hooli"], 2, sentiment=1)  # 100 green
    return ids


def run_and_deliver(bot: Bot) -> Any:
    result = run_health(bot.engine, bot.clock, bot.deps.settings)
    deliver_due(bot.engine, bot.deps.client, bot.clock)
    return result


def listed(message: dict[str, Any]) -> list[str]:
    """Account names in an alert message, in order, from its section blocks."""
    return [
        b["text"]["text"].split("*")[1]
        for b in message["blocks"]
        if b["type"] == "section" and b.get("block_id", "").startswith("risk_")
    ]


def test_day_one_posts_one_message_worst_first_then_day_two_posts_nothing(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS")
    result = run_and_deliver(bot)
    assert (result.accounts, result.at_risk) == (4, 3)
    messages = bot.fake.messages_in("CALERTS")
    assert len(messages) == 1
    message = messages[0]
    assert listed(message) == ["Acme", "Initech", "Globex"]
    assert message["text"].startswith("3 accounts newly at risk: Acme, Initech, Globex")
    assert message["blocks"][0]["text"]["text"] == ":rotating_light: 3 accounts newly at risk (Nov 20)"
    sections = {b["block_id"]: b["text"]["text"] for b in message["blocks"] if b["type"] == "section"}
    assert sections[f"risk_{ids['Acme']}"] == (
        "*Acme* · :red_circle: 27 red · $500k ARR · <@UCSM1>\n"
        "• score 27 is red (below 40)\n"
        "• no touchpoint in 60 days\n"
        "• last 3 touchpoints: 3 negative"
    )
    renewal = (bot.clock.now().date() + timedelta(days=30)).isoformat()
    assert sections[f"risk_{ids['Initech']}"] == (
        f"*Initech* · :large_yellow_circle: 67 yellow · $200k ARR · renews {renewal} · <@UCSM1>\n"
        f"• renewal in 30 days ({renewal}), not green\n"
        "• adoption 35 % (35 of 100 users)"
    )
    assert "• 1 open escalation (1 sev1)" in sections[f"risk_{ids['Globex']}"]
    buttons = [b for b in message["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in buttons] == [
        (ActionId.ALERT_LOG_TOUCHPOINT, "Log touchpoint", str(ids["Acme"])),
        (ActionId.ALERT_SNOOZE, "Snooze 7 days", str(ids["Acme"])),
        (ActionId.ALERT_OPEN_ESCALATION, "Open escalation", str(ids["Acme"])),
    ]
    with session_scope(bot.engine) as s:
        snaps = {x.account_id: x for x in s.exec(select(HealthSnapshot)).all()}
        assert {a: (snaps[i].score, snaps[i].band) for a, i in ids.items()} == {
            "Acme": (27, "red"),
            "Globex": (0, "red"),
            "Initech": (67, "yellow"),
            "Hooli": (100, "green"),
        }
        assert snaps[ids["Acme"]].reasons[:2] == ["score 27 is red (below 40)", "no touchpoint in 60 days"]
        # the snapshot says who was at risk that day (the metrics' "at risk" reads it)
        assert {a: snaps[i].at_risk for a, i in ids.items()} == {
            "Acme": True,
            "Globex": True,
            "Initech": True,
            "Hooli": False,
        }
        alerts = s.exec(select(Alert).where(Alert.state == "open")).all()
        assert sorted(a.account_id for a in alerts) == sorted([ids["Acme"], ids["Globex"], ids["Initech"]])

    bot.clock.advance(days=1)  # day 2: words move ("61 days"), nothing new
    result = run_and_deliver(bot)
    assert result.at_risk == 3 and result.alerted == [] and result.messages == []
    assert len(bot.fake.messages_in("CALERTS")) == 1
    with session_scope(bot.engine) as s:
        assert len(s.exec(select(HealthSnapshot)).all()) == 8  # one per account per day


def test_a_new_reason_posts_again_with_only_that_account(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS")
    run_and_deliver(bot)
    bot.clock.advance(days=1)
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
    run_and_deliver(bot)
    messages = bot.fake.messages_in("CALERTS")
    assert len(messages) == 2
    assert listed(messages[1]) == ["Initech"]
    assert "• NPS 3 from jane@initech on 11-21" in messages[1]["blocks"][1]["text"]["text"]
    bot.clock.advance(days=1)  # the same reason the next day is not news
    run_and_deliver(bot)
    assert len(bot.fake.messages_in("CALERTS")) == 2


def test_recovery_closes_the_alert_and_a_relapse_alerts_again(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS")
    run_and_deliver(bot)
    bot.clock.advance(days=1)
    touch(bot, ids["Acme"], 0, sentiment=1, count=3)  # a good week: green
    result = run_and_deliver(bot)
    assert result.closed == 1
    with session_scope(bot.engine) as s:
        acme = s.exec(select(Alert).where(Alert.account_id == ids["Acme"])).one()
        assert acme.state == "closed"
    bot.clock.advance(days=60)
    with session_scope(bot.engine) as s:  # only Acme is in the picture now
        for name in ("Globex", "Initech", "Hooli"):
            s.get(Account, ids[name]).stage = "churned"  # type: ignore[union-attr]
        s.add(  # recency 0, sentiment 100, a sev1: 27, red again
            Escalation(
                account_id=ids["Acme"],
                severity="sev1",
                summary="outage",
                owner_slack_id="UCSM1",
                opened_by="UCSM1",
                opened_at=bot.clock.now(),
            )
        )
    run_and_deliver(bot)
    messages = bot.fake.messages_in("CALERTS")
    assert [listed(m) for m in messages] == [["Acme", "Initech", "Globex"], ["Acme"]]
    with session_scope(bot.engine) as s:
        assert [a.state for a in s.exec(select(Alert).where(Alert.account_id == ids["Acme"])).all()] == [
            "closed",
            "open",
        ]


def test_snooze_over_signed_http_keeps_an_account_quiet_for_seven_days(bot: Bot) -> None:
    ids = portfolio(bot)
    subscribe(bot, "CALERTS")
    run_and_deliver(bot)
    response = bot.send.block_action(
        ActionId.ALERT_SNOOZE, value=str(ids["Initech"]), user_id="UCSM1", channel_id="CALERTS"
    )
    assert response.status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    answer = bot.fake.responses[0].body
    assert answer["text"] == (
        ":zzz: Snoozed alerts for *Initech* until Fri Nov 27 (<@UCSM1>). "
        "If it is still at risk then, it will be posted again."
    )
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    with session_scope(bot.engine) as s:
        alert = s.exec(select(Alert).where(Alert.account_id == ids["Initech"])).one()
        assert alert.snoozed_until == bot.clock.now() + timedelta(days=7)
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "alert.snooze")).one().actor_slack_id == "UCSM1"
        )

    # a new reason while snoozed: quiet, every day of the seven
    with session_scope(bot.engine) as s:
        s.add(
            NpsResponse(
                account_id=ids["Initech"], responded_at=bot.clock.now(), score=2, created_at=bot.clock.now()
            )
        )
    for _ in range(6):
        bot.clock.advance(days=1)
        run_and_deliver(bot)
    assert len(bot.fake.messages_in("CALERTS")) == 1
    bot.clock.advance(days=1)  # day 8: the snooze is over and it is still at risk
    run_and_deliver(bot)
    messages = bot.fake.messages_in("CALERTS")
    assert [listed(m) for m in messages] == [["Acme", "Initech", "Globex"], ["Initech"]]


def test_two_subscriptions_with_different_filters_get_different_lists(bot: Bot) -> None:
    portfolio(bot)
    subscribe(bot, "CALERTS", segment="enterprise")
    subscribe(bot, "CDIGEST", csm="UCSM2")
    subscribe(bot, "CGENERAL", segment="nonexistent")
    result = run_and_deliver(bot)
    assert len(result.messages) == 2
    assert [listed(m) for m in bot.fake.messages_in("CALERTS")] == [["Acme", "Initech"]]
    assert [listed(m) for m in bot.fake.messages_in("CDIGEST")] == [["Globex"]]
    assert bot.fake.messages_in("CGENERAL") == []


def test_rerunning_the_same_day_queues_nothing_twice(bot: Bot) -> None:
    portfolio(bot)
    subscribe(bot, "CALERTS")
    run_health(bot.engine, bot.clock, bot.deps.settings)
    again = run_health(bot.engine, bot.clock, bot.deps.settings)
    assert again.messages == []
    deliver_due(bot.engine, bot.deps.client, bot.clock)
    assert len(bot.fake.messages_in("CALERTS")) == 1


def test_a_drop_of_twenty_points_in_a_week_is_at_risk(bot: Bot) -> None:
    acme = add_account(bot, "Acme", arr=100_000, csm="UCSM1", segment="smb")
    touch(bot, acme, 1, sentiment=1, count=3)
    usage(bot, acme, 90, 100)
    subscribe(bot, "CALERTS")
    assert run_and_deliver(bot).at_risk == 0  # 100, green
    bot.clock.advance(days=3)
    usage(bot, acme, 30, 100)  # adoption 30 % scores 17: 74, still green, but down 26
    result = run_and_deliver(bot)
    assert result.at_risk == 1
    text = bot.fake.messages_in("CALERTS")[0]["blocks"][1]["text"]["text"]
    assert "• dropped 26 points in 7 days (100 → 74)" in text


def test_the_number_of_statements_does_not_grow_with_accounts(bot: Bot) -> None:
    subscribe(bot, "CALERTS")
    subscribe(bot, "CDIGEST", csm="UCSM2")

    def count_statements() -> int:
        seen: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        event.listen(bot.engine, "before_cursor_execute", before)
        try:
            run_health(bot.engine, bot.clock, bot.deps.settings)
        finally:
            event.remove(bot.engine, "before_cursor_execute", before)
        return len(seen)

    def grow(n: int, start: int) -> None:
        for i in range(start, start + n):
            a = add_account(
                bot, f"Co {i}", arr=1000 * (i + 1), csm="UCSM2" if i % 2 else "UCSM1", segment="smb"
            )
            touch(bot, a, 70, sentiment=-1, count=2)
            usage(bot, a, 1, 10)

    grow(3, 0)
    small = count_statements()
    bot.clock.advance(days=1)
    grow(40, 3)
    large = count_statements()
    assert small == large
    assert large < 25


def test_alert_buttons_answer_over_signed_http(bot: Bot) -> None:
    ids = portfolio(bot)
    # Log touchpoint and Open escalation open their forms for the account
    # (the flows are end to end in tests/test_alert_wiring_e2e.py).
    for n, (action, callback) in enumerate(
        (
            (ActionId.ALERT_LOG_TOUCHPOINT, CallbackId.LOG_MODAL),
            (ActionId.ALERT_OPEN_ESCALATION, CallbackId.ESC_OPEN_MODAL),
        ),
        start=1,
    ):
        assert bot.send.block_action(action, value=str(ids["Acme"]), channel_id="CALERTS").status_code == 200
        assert bot.fake.wait_for(lambda n=n: len(bot.fake.calls_to("views.open")) == n)
        view = bot.fake.calls_to("views.open")[-1].args["view"]
        assert view["callback_id"] == callback and "Acme" in json.dumps(view["blocks"])
    assert bot.fake.responses == []
    before = len(bot.fake.responses)
    bot.send.block_action(ActionId.ALERT_SNOOZE, value="999999", channel_id="CALERTS")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == before + 1)
    assert bot.fake.responses[-1].body["text"] == "That account no longer exists."
    bot.send.block_action(ActionId.ALERT_SNOOZE, value=str(ids["Hooli"]), channel_id="CALERTS")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == before + 2)
    assert (
        bot.fake.responses[-1].body["text"] == "*Hooli* is not at risk any more; there is nothing to snooze."
    )


def test_an_overnight_drop_counts_in_the_teams_day_east_of_utc(bot: Bot) -> None:
    """A team in Tokyo scores at 07:00 local, 22:00 UTC the day before: yesterday's
    snapshot (dated by the local day) is in the 7-day window, so the drop shows."""
    from dataclasses import replace
    from datetime import UTC, datetime

    bot.deps.settings = replace(bot.deps.settings, tz="Asia/Tokyo")
    bot.clock.set(datetime(2026, 11, 19, 22, 0, tzinfo=UTC))  # Fri 20 Nov 07:00 in Tokyo
    acme = add_account(bot, "Acme", arr=100_000, csm="UCSM1", segment="smb")
    touch(bot, acme, 0, sentiment=1, count=3)
    usage(bot, acme, 90, 100)
    subscribe(bot, "CALERTS")
    assert run_and_deliver(bot).at_risk == 0  # 100, green
    bot.clock.advance(days=1)  # Sat 21 Nov 07:00 in Tokyo
    usage(bot, acme, 30, 100)  # 74: still green, but down 26 overnight
    result = run_and_deliver(bot)
    assert result.at_risk == 1
    text = bot.fake.messages_in("CALERTS")[0]["blocks"][1]["text"]["text"]
    assert "• dropped 26 points in 7 days (100 → 74)" in text
