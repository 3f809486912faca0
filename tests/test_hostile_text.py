"""Text the bot did not write never reaches Slack as markup (PRODUCT.md §2,
LESSONS.md): every Block Kit builder, and every message the bot sends to a
channel, a DM, a thread or a response_url, with hostile strings in every field a
user or an import file supplies — no live broadcast, no live link or mention the
user typed, no unescaped `&<>` (asserted on the fake Slack's recorded calls)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.accounts.card import AccountCard, TouchpointLine
from bot.accounts.card_blocks import account_card_blocks
from bot.accounts.matching import AccountRef
from bot.escalations.blocks import (
    EscalationCard,
    ListedEscalation,
    escalation_list,
    escalation_parent,
    note_modal,
    open_escalation_modal,
    opened_confirmation,
    parent_text,
)
from bot.health.blocks import health_section_blocks, reason_lines
from bot.health.scoring import Reason
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.elements import button
from bot.slack.escape import escape, readable
from bot.touchpoints.confirmation import account_card_choice, account_choice, log_confirmation
from bot.touchpoints.recording import Recorded
from jobs.escalation_policy import run_escalation_policy
from models.db import session_scope
from models.tables import Account, Member, NpsResponse
from tests.escalation_helpers import ESC_CHANNEL, click, flush, parent, submit_modal
from tests.harness import Bot
from tests.hostile import HOSTILE, HOSTILE_NAME, violations
from tests.test_health_job import run_and_deliver, subscribe, touch

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


# --- the rule itself ------------------------------------------------------------------------


def test_escape_shows_every_token_as_it_reads_and_nothing_live() -> None:
    assert escape(HOSTILE) == (
        "@channel @here @everyone @cs-team @boss click here (https://evil.example/login) #general "
        "Tom &amp; Jerry &lt;b&gt;1 &lt; 2&lt;/b&gt; &amp;amp;"
    )
    assert readable("<!subteam^S1>") == "@S1" and readable("<!date^1^{date}|Nov 20>") == "Nov 20"
    assert escape("a&b" * 10, 7) == "a&amp;b"  # never cut inside an entity
    assert escape(None) == ""
    # the author's own ephemeral copy keeps their @-mentions, and nothing else, live
    assert escape("ask <@U0ROBIN|robin> <!here>", keep_mentions=True) == "ask <@U0ROBIN|robin> @here"


# --- every builder, fed hostile text ----------------------------------------------------------


def _card(status: str) -> EscalationCard:
    return EscalationCard(
        id=7,
        severity="sev1",
        status=status,
        summary=HOSTILE,
        account_name=HOSTILE_NAME,
        arr_cents=100,
        renewal_date=date(2027, 1, 1),
        health_score=30,
        health_band="red",
        owner="UCSM1",
        opened_by="UCSM2",
        opened_at=NOW,
        sla="15 min",
        paged=("UDIR1",),
        last_action="Note by <@UCSM2>",
        last_action_at=NOW,
        resolution=HOSTILE if status == "resolved" else None,
        time_to_ack=timedelta(minutes=5),
        time_to_resolve=timedelta(hours=1),
    )


BUILDERS = {
    "escalation parent open": lambda: escalation_parent(_card("open")),
    "escalation parent resolved": lambda: escalation_parent(_card("resolved")),
    "escalation parent text": lambda: {"text": parent_text(_card("acknowledged"))},
    "note modal": lambda: note_modal(CallbackId.ESC_NOTE_MODAL, 7, HOSTILE_NAME, resolve=False),
    "open escalation modal": lambda: open_escalation_modal(
        1, HOSTILE_NAME, csm="UCSM1", slas={"sev1": "15 min"}
    ),
    "opened confirmation": lambda: {
        "text": opened_confirmation(7, "sev1", HOSTILE_NAME, "UCSM1", "CESC", "1 h")
    },
    "escalation list": lambda: escalation_list(
        "Open escalations",
        [ListedEscalation(7, "sev2", HOSTILE_NAME, HOSTILE, "UCSM1", "open", timedelta(hours=2), None)],
    ),
    "health section": lambda: health_section_blocks(
        30, "red", [], [Reason("nps", f"NPS 2 from {HOSTILE}")], [Reason("risk:red", HOSTILE)]
    ),
    "reason lines": lambda: {"text": reason_lines([Reason("x", HOSTILE)])},
    "account card": lambda: account_card_blocks(
        AccountCard(
            id=1,
            name=HOSTILE_NAME,
            arr_cents=100,
            segment=HOSTILE,
            csm_slack_id="UCSM1",
            renewal_date=None,
            stage=HOSTILE,
            open_escalations=1,
            touchpoints=(TouchpointLine(1, "UCSM2", "call", NOW, 1, HOSTILE),),
        ),
        tz=ZoneInfo("UTC"),
        today=NOW.date(),
    ),
    "log confirmation (DM copy)": lambda: log_confirmation(
        Recorded(1, 1, HOSTILE_NAME, "UCSM1", "call", NOW, HOSTILE, ("t&<>",), 1, None, True),
        ZoneInfo("UTC"),
        ephemeral=False,
    ),
    "account choice": lambda: account_choice(HOSTILE, (AccountRef(1, HOSTILE_NAME), AccountRef(2, "B")), {}),
    "account card choice": lambda: account_card_choice(HOSTILE, (AccountRef(1, HOSTILE_NAME),)),
    "button": lambda: button(ActionId.UNDO, HOSTILE_NAME, "1"),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_escapes_what_it_is_given(name: str) -> None:
    built = BUILDERS[name]()
    if isinstance(built, tuple):  # (the message's text, its blocks): Slack parses both
        built = {"text": built[0], "blocks": built[1]}
    assert violations(built) == []
    # and what was typed still reads right
    assert "Tom" in json.dumps(built) or "Evilcorp" in json.dumps(built)


def test_the_authors_own_confirmation_keeps_only_their_mentions_live() -> None:
    rec = Recorded(1, 1, HOSTILE_NAME, "UCSM1", "call", NOW, HOSTILE, (), 1, None, True)
    _, blocks = log_confirmation(rec, ZoneInfo("UTC"))
    note = blocks[2]["text"]["text"]
    assert "<!channel>" not in note and "evil.example|" not in note and "&lt;b&gt;" in note


# --- everything the bot sends, end to end ------------------------------------------------------


@pytest.fixture
def hostile(bot: Bot) -> Bot:
    """A portfolio whose imported fields are hostile: the account name and segment,
    an NPS respondent and comment; a team to page."""
    bot.deps.ack_budget_seconds = 30.0  # answers in the HTTP reply even on a loaded machine
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        account = Account(
            name=HOSTILE_NAME,
            segment="<!here>",
            stage=HOSTILE,
            arr_cents=50_000_000,
            csm_slack_id="UCSM1",
            renewal_date=now.date() + timedelta(days=20),
            created_at=now,
            updated_at=now,
        )
        s.add(account)
        s.add(Member(slack_id="UCSM1", role="csm", manager_slack_id="UDIR1", created_at=now, updated_at=now))
        s.add(Member(slack_id="UDIR1", role="director", created_at=now, updated_at=now))
        s.flush()
        s.add(
            NpsResponse(
                account_id=account.id,
                responded_at=now - timedelta(days=2),
                score=1,
                respondent=HOSTILE,
                comment=HOSTILE,
                created_at=now,
            )
        )
        account_id = account.id
    touch(bot, account_id, 60, sentiment=-1, count=3)
    bot.deps.accounts.invalidate()
    return bot


def _everything_sent(bot: Bot) -> list[tuple[str, object]]:
    sent: list[tuple[str, object]] = [
        (f"{c.method}#{i}", c.args) for i, c in enumerate(bot.fake.calls) if c.method != "users.info"
    ]
    sent += [(f"response_url#{i}", r.body) for i, r in enumerate(bot.fake.responses)]
    return sent


def test_nothing_the_bot_sends_carries_live_markup_from_foreign_text(hostile: Bot) -> None:
    bot = hostile
    answers = []
    # the at-risk alert in a channel (the name and the NPS respondent are in it)
    subscribe(bot, "CALERTS")
    run_and_deliver(bot)
    assert bot.fake.messages_in("CALERTS"), "the alert was not posted"
    alert = bot.fake.messages_in("CALERTS")[0]
    log_button = next(
        el
        for b in alert["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == ActionId.ALERT_LOG_TOUCHPOINT
    )
    bot.send.block_action(ActionId.ALERT_LOG_TOUCHPOINT, value=log_button["value"], channel_id="CALERTS")
    assert bot.fake.wait_for(lambda: bot.fake.calls_to("views.open")), "the log form did not open"
    search = bot.send.interactive(
        {
            "type": "block_suggestion",
            "user": {"id": "UCSM1"},
            "action_id": ActionId.LOG_ACCOUNT,
            "value": "Evil",
        }
    ).json()
    assert search["options"], "the account search found nothing"
    answers.append(search)
    # an escalation: parent, thread, DM page, then a note, a reassign and a resolution
    answers.append(bot.send.command(f"escalate Evilcorp sev1 {HOSTILE}", user_id="UCSM2").json())
    flush(bot)
    bot.clock.advance(minutes=16)  # past the SEV1's acknowledgement time: the policy pages again
    run_escalation_policy(bot.engine, bot.clock)
    flush(bot)
    click(bot, parent(bot), ActionId.ESC_REASSIGN, user_id="UCSM1", selected_user="UCSM2")
    flush(bot)
    assert bot.fake.messages_in("UCSM2"), "the new owner was not paged"
    click(bot, parent(bot), ActionId.ESC_NOTE, user_id="UCSM2")
    submit_modal(bot, user_id="UCSM2", note=HOSTILE)
    flush(bot)
    click(bot, parent(bot), ActionId.ESC_RESOLVE, user_id="UCSM1")
    submit_modal(bot, user_id="UCSM1", note=HOSTILE)
    flush(bot)
    assert len(bot.fake.messages_in(ESC_CHANNEL)) >= 4 and bot.fake.messages_in("UCSM1")
    # touchpoints, the account card and its shared copy in the channel
    own_log = bot.send.command(f"log Evilcorp call {HOSTILE}", user_id="UCSM1").json()
    answers.append(own_log)
    card = bot.send.command("account Evilcorp", user_id="UCSM2").json()
    answers.append(card)
    share = next(
        el
        for b in card["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"] == ActionId.ACCOUNT_SHARE
    )
    bot.send.block_action(ActionId.ACCOUNT_SHARE, value=share["value"], user_id="UCSM2")
    assert bot.fake.wait_for(
        lambda: any(r.body.get("response_type") == "in_channel" for r in bot.fake.responses)
    )
    # revenue, with the comment and the note typed
    answers.append(bot.send.command(f"nps Evilcorp 3 {HOSTILE}", user_id="UCSM1").json())
    answers.append(bot.send.command("renewal Evilcorp renewed 1000", user_id="UCSM1").json())
    answers.append(bot.send.command(f"upsell Evilcorp 500 {HOSTILE}", user_id="UCSM1").json())
    # lists and refusals that echo what was typed
    answers.append(bot.send.command("risk", user_id="UCSM1").json())
    answers.append(bot.send.command("metrics", user_id="UDIR1").json())
    for user in ("UCSM1", "UDIR1"):  # App Home: a CSM's desk and a director's
        bot.send.event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert bot.fake.wait_for(lambda: len(bot.fake.calls_to("views.publish")) >= 2), (
        "App Home was not published"
    )
    answers.append(bot.send.command("escalations all", user_id="UCSM1").json())
    answers.append(bot.send.command(f"account {HOSTILE}", user_id="UCSM1").json())
    answers.append(bot.send.command(f"renewal {HOSTILE} renewed 10", user_id="UCSM1").json())
    answers.append(bot.send.command(f"escalate {HOSTILE} sev1 x", user_id="UCSM1").json())
    answers.append(bot.send.command("subscribe digest <!here>", user_id="UDIR1", channel_id="CDIGEST").json())
    answers.append(
        bot.send.command(f"subscribe alerts {HOSTILE}", user_id="UDIR1", channel_id="CDIGEST").json()
    )
    answers.append(bot.send.command(f"team add {HOSTILE} csm", user_id="UDIR1").json())
    flush(bot)
    assert bot.fake.messages_in("CDIGEST"), "the subscription notice was not posted"

    # the log's confirmation is ephemeral to its author: their own @-mentions may stay live
    found = [
        v
        for i, a in enumerate(answers)
        for v in violations(a, f"answer#{i}", allow_typed_mentions=a is own_log)
    ]
    for where, payload in _everything_sent(bot):
        found += violations(payload, where)
    assert found == [], '\n'.join(found)
    # and the foreign text still reads as typed where it is shown
    alert = bot.fake.messages_in("CALERTS")[0]
    assert "Evilcorp @channel &amp;" in json.dumps(alert)
