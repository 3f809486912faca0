"""Escalations end to end (PRODUCT.md §5): `/cs escalate` over signed
HTTP, every button of the parent message in Slack's block_actions format, the
modals' view_submission, the policy job with the clock moved by hand — asserted
on what the fake Slack recorded. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.escalations.stats import durations
from bot.slack.action_ids import ActionId
from bot.slack.web import build_asgi
from models.db import session_scope
from models.tables import Escalation, Outbox
from tests.app_server import AppServer
from tests.escalation_helpers import (
    action_elements,
    click,
    dms,
    escalation,
    events,
    field_value,
    flush,
    open_via_command,
    outbox_count,
    parent,
    parents,
    run_policy,
    seed_team,
    submit_modal,
    thread_replies,
)
from tests.harness import SIGNING_SECRET, Bot
from tests.signing import SlackSender

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(bot: Bot) -> Bot:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    return bot


def _post_count(bot: Bot) -> int:
    return len(bot.fake.calls_to("chat.postMessage"))


# --- opening -----------------------------------------------------------------------------


def test_escalate_posts_parent_thread_and_dm_and_confirms_to_opener(team: Bot) -> None:
    bot = team
    reply = open_via_command(bot, "acme corp sev1 checkout fails for every EU user")
    assert reply["response_type"] == "ephemeral"
    assert "Escalation #1 opened: SEV1 for *Acme Corp*, owner <@UCSM1>" in reply["text"]
    assert "<#CESC>" in reply["text"] and "15 min" in reply["text"]

    msg = parent(bot)
    assert msg["blocks"][0]["text"]["text"] == "SEV1 escalation — Acme Corp"
    assert msg["blocks"][1]["text"]["text"] == "checkout fails for every EU user"
    assert field_value(msg, "Severity").endswith("SEV1")
    assert field_value(msg, "Owner") == "<@UCSM1>"
    assert field_value(msg, "Opened by").startswith("<@UCSM2> <!date^")
    assert field_value(msg, "ARR") == "$120,000"
    assert field_value(msg, "Renewal") == "2027-03-31"
    assert field_value(msg, "Health") == "38 (red)"
    assert "Open" in field_value(msg, "Status")
    assert sorted(action_elements(msg)) == sorted(
        [
            ActionId.ESC_ACK,
            ActionId.ESC_RESOLVE,
            ActionId.ESC_ESCALATE,
            ActionId.ESC_NOTE,
            ActionId.ESC_REASSIGN,
        ]
    )
    assert action_elements(msg)[ActionId.ESC_REASSIGN][1]["type"] == "users_select"

    replies = thread_replies(bot, msg)
    assert len(replies) == 1
    assert replies[0].startswith("<@UCSM1>, you own this SEV1 escalation for *Acme Corp*, opened by <@UCSM2>")

    owner_dms = dms(bot, "UCSM1")
    assert len(owner_dms) == 1
    assert "You were paged: SEV1 escalation for *Acme Corp*" in owner_dms[0]
    # the link points into the thread (the owner's @-mention reply)
    assert (
        f"thread_ts={msg['ts']}" in owner_dms[0] and "https://fake.slack.com/archives/CESC/p" in owner_dms[0]
    )

    esc = escalation(bot.engine)
    assert (esc.status, esc.severity, esc.owner_slack_id, esc.opened_by) == ("open", "sev1", "UCSM1", "UCSM2")
    assert esc.policy["sla_minutes"] == 15 and esc.policy["steps"] == ["owner", "next_level", "next_level"]
    assert esc.next_page_at == bot.clock.now() + timedelta(minutes=15)
    assert events(bot.engine) == ["opened"]


def test_owner_mention_both_forms_and_default_owner_without_health(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Globex sev2 <@UCSM1|casey> SSO broken since the update")
    open_via_command(bot, "Globex sev3 <@UDIR1> renewal at risk")
    open_via_command(bot, "Globex sev3 invoices wrong")
    owners = [field_value(p, "Owner") for p in parents(bot)]
    assert owners == ["<@UCSM1>", "<@UDIR1>", "<@UCSM2>"]
    with pytest.raises(AssertionError, match="no field 'Health'"):
        field_value(parent(bot), "Health")  # Globex has no health snapshot: no Health field
    assert field_value(parent(bot), "Renewal") == "not set"
    assert parent(bot)["blocks"][1]["text"]["text"] == "SSO broken since the update"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme sev1 down", "“acme” matches several accounts: *Acme Corp*, *Acme Labs*"),
        ("Acmee Corpp sev1 down", "Escalation #1 opened: SEV1 for *Acme Corp*"),  # fuzzy, one match: used
        ("Zzyzx sev1 down", "No account matches “Zzyzx”."),
        ("Initrode sev1 down", "No account matches “Initrode”. Closest: *Initech*"),
        ("acme corp down", "Say how severe it is: sev1, sev2 or sev3."),
        ("acme corp sev1", "Add a summary"),
        ("acme corp sev1 <@UCSM1>", "Add a summary"),
        ("sev1 everything down", "Name the account first."),
        ("acme corp sev1 @casey down", "pick the person from Slack's @-mention list"),
        ("Initech sev2 billing broken", "*Initech* has no CSM on record: name the owner"),
    ],
)
def test_bad_escalate_input_is_explained_and_writes_nothing(team: Bot, text: str, expected: str) -> None:
    reply = open_via_command(team, text)
    assert reply["response_type"] == "ephemeral"
    assert expected in reply["text"]
    if "opened" in expected:
        return  # the control case: a close enough name is used
    assert outbox_count(team.engine) == 0
    with session_scope(team.engine) as s:
        assert s.exec(select(Escalation)).all() == []
    assert team.fake.calls_to("chat.postMessage") == []


# --- the policy, with the clock moved by hand --------------------------------------------


def test_sev1_repaged_at_15_manager_at_30_nothing_after_ack(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    msg = parent(bot)

    bot.clock.advance(minutes=14, seconds=59)
    assert run_policy(bot) == 0
    assert len(dms(bot, "UCSM1")) == 1

    bot.clock.advance(seconds=1)  # 15 min
    assert run_policy(bot) == 1
    assert len(dms(bot, "UCSM1")) == 2
    assert "Reminder, not acknowledged after 15 min" in dms(bot, "UCSM1")[1]
    assert "<@UCSM1>, this is still not acknowledged after 15 min." in thread_replies(bot, msg)[-1]
    assert dms(bot, "UDIR1") == []

    bot.clock.advance(minutes=14)
    assert run_policy(bot) == 0
    bot.clock.advance(minutes=1)  # 30 min
    assert run_policy(bot) == 1
    assert len(dms(bot, "UDIR1")) == 1
    assert "you are paged (manager of <@UCSM1>)" in dms(bot, "UDIR1")[0]
    last = thread_replies(bot, msg)[-1]
    assert "Not acknowledged after 30 min: paging <@UDIR1> (manager of <@UCSM1>)" in last
    assert len(dms(bot, "UCSM1")) == 2  # the manager step does not DM the owner again
    msg = parent(bot)
    assert field_value(msg, "Paged up the chain") == "<@UDIR1>"

    click(bot, msg, ActionId.ESC_ACK, user_id="UCSM1")
    flush(bot)
    msg = parent(bot)
    assert "Acknowledged" in field_value(msg, "Status")
    assert ActionId.ESC_ACK not in action_elements(msg)
    assert "<@UCSM1> acknowledged (30 min after opening). Paging stopped." in thread_replies(bot, msg)[-1]

    posts = _post_count(bot)
    for _ in range(12):  # three more hours of policy runs
        bot.clock.advance(minutes=15)
        assert run_policy(bot) == 0
    assert _post_count(bot) == posts
    assert dms(bot, "UEXEC1") == []
    esc = escalation(bot.engine)
    assert esc.next_page_at is None and esc.acknowledged_by == "UCSM1"
    assert events(bot.engine) == ["opened", "repaged", "paged_next_level", "acknowledged"]


def test_unacknowledged_sev1_reaches_the_cs_exec_then_stops(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    for _ in range(3):
        bot.clock.advance(minutes=15)
        assert run_policy(bot) == 1
    assert len(dms(bot, "UEXEC1")) == 1
    assert "CS exec" in dms(bot, "UEXEC1")[0]
    assert field_value(parent(bot), "Paged up the chain") == "<@UDIR1>, <@UEXEC1>"
    posts = _post_count(bot)
    bot.clock.advance(hours=5)
    assert run_policy(bot) == 0  # the policy's steps are bounded
    assert _post_count(bot) == posts


def test_sev3_opened_friday_1630_is_not_repaged_before_monday_1630(team: Bot) -> None:
    bot = team
    # Friday 20 Nov 2026, 16:30 in New York (CSBOT_TZ of the test settings) = 21:30 UTC.
    bot.clock.set(datetime(2026, 11, 20, 21, 30, tzinfo=UTC))
    open_via_command(bot, "Acme Corp sev3 export to CSV truncates rows")
    assert escalation(bot.engine).next_page_at == datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    for when in (
        datetime(2026, 11, 20, 22, 1, tzinfo=UTC),  # Friday 17:01
        datetime(2026, 11, 21, 15, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 11, 22, 23, 0, tzinfo=UTC),  # Sunday evening
        datetime(2026, 11, 23, 14, 30, tzinfo=UTC),  # Monday 09:30
        datetime(2026, 11, 23, 21, 29, tzinfo=UTC),  # Monday 16:29
    ):
        bot.clock.set(when)
        assert run_policy(bot) == 0, when
    assert len(dms(bot, "UCSM1")) == 1
    bot.clock.set(datetime(2026, 11, 23, 21, 30, tzinfo=UTC))  # Monday 16:30 New York
    assert run_policy(bot) == 1
    assert len(dms(bot, "UCSM1")) == 2
    # the next level is one more business day later: Tuesday 16:30
    assert escalation(bot.engine).next_page_at == datetime(2026, 11, 24, 21, 30, tzinfo=UTC)


def test_restart_in_the_middle_neither_loses_nor_repeats_a_page(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    bot.clock.advance(minutes=5)
    # The first process goes away; the 15-minute deadline passes while nothing runs.
    bot.server.stop()
    bot.clock.advance(minutes=11)  # 16 min

    app2, deps2 = build_app(bot.deps.settings, bot.engine, bot.clock)
    server2 = AppServer(build_asgi(app2)).start()
    sender2 = SlackSender(server2.url, SIGNING_SECRET, response_url_factory=bot.fake.response_url)
    try:
        restarted = Bot(app2, deps2, server2, sender2, bot.fake, bot.clock, bot.engine)
        assert run_policy(restarted) == 1  # the missed re-page is sent after the restart
        assert run_policy(restarted) == 0  # a second run at the same time pages nobody
        assert len(dms(bot, "UCSM1")) == 2

        # A crash between queuing a page and delivering it: the rows wait in the Outbox.
        bot.clock.advance(minutes=14)  # 30 min
        from jobs.escalation_policy import run_escalation_policy

        assert run_escalation_policy(bot.engine, bot.clock) == 1
        assert run_escalation_policy(bot.engine, bot.clock) == 0  # duplicate run: nothing more queued
        app3, deps3 = build_app(bot.deps.settings, bot.engine, bot.clock)
        third = Bot(app3, deps3, server2, sender2, bot.fake, bot.clock, bot.engine)
        flush(third)
        assert len(dms(bot, "UDIR1")) == 1
        assert len(dms(bot, "UCSM1")) == 2

        # The restarted app still serves the buttons of the message posted before.
        click(restarted, parent(bot), ActionId.ESC_ACK, user_id="UDIR1")
        flush(restarted)
        assert "Acknowledged" in field_value(parent(bot), "Status")
        bot.clock.advance(hours=1)
        assert run_policy(restarted) == 0
        deps3.executor.shutdown(wait=True)
    finally:
        sender2.close()
        server2.stop()
        deps2.executor.shutdown(wait=True)
    assert events(bot.engine) == ["opened", "repaged", "paged_next_level", "acknowledged"]
    with session_scope(bot.engine) as s:
        assert all(r.state == "sent" for r in s.exec(select(Outbox)).all())


# --- every button, end to end ------------------------------------------------------------


def test_reassign_pages_the_new_owner_and_restarts_their_clock(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    bot.clock.advance(minutes=10)
    response = click(bot, parent(bot), ActionId.ESC_REASSIGN, user_id="UCSM1", selected_user="UCSM2")
    assert response.status_code == 200
    flush(bot)
    msg = parent(bot)
    assert field_value(msg, "Owner") == "<@UCSM2>"
    assert "Open" in field_value(msg, "Status")
    assert "Reassigned by <@UCSM1>" in msg["blocks"][-2]["elements"][0]["text"]
    assert (
        "<@UCSM1> reassigned this from <@UCSM1> to <@UCSM2>. <@UCSM2>, you own it now"
        in thread_replies(bot, msg)[-1]
    )
    new_owner_dms = dms(bot, "UCSM2")
    assert len(new_owner_dms) == 1
    assert "<@UCSM1> assigned you the SEV1 escalation for *Acme Corp*" in new_owner_dms[0]
    assert "https://fake.slack.com/archives/CESC/p" in new_owner_dms[0]

    bot.clock.advance(minutes=14)  # 24 min after opening, 14 after the reassignment
    assert run_policy(bot) == 0
    bot.clock.advance(minutes=1)
    assert run_policy(bot) == 1
    assert len(dms(bot, "UCSM2")) == 2
    assert len(dms(bot, "UCSM1")) == 1  # the previous owner is not paged any more
    assert events(bot.engine) == ["opened", "reassigned", "repaged"]


def test_outsider_clicks_are_refused_and_change_nothing(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    before_msg = parent(bot)
    before_rows = outbox_count(bot.engine)
    for action, extra in (
        (ActionId.ESC_ACK, {}),
        (ActionId.ESC_ESCALATE, {}),
        (ActionId.ESC_RESOLVE, {}),
        (ActionId.ESC_REASSIGN, {"selected_user": "UOUT1"}),
    ):
        response = click(bot, before_msg, action, user_id="UOUT1", **extra)
        assert response.status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 4)
    for refusal in bot.fake.responses:
        assert refusal.body["response_type"] == "ephemeral"
        assert refusal.body["replace_original"] is False
        assert refusal.body["text"].startswith("Only the owner <@UCSM1>, their managers, a CS exec")
        assert refusal.body["text"].endswith("Nothing was changed.")
    assert bot.fake.calls_to("views.open") == []
    # the person who opened it may not acknowledge for the owner either
    click(bot, before_msg, ActionId.ESC_ACK, user_id="UCSM2")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 5)
    assert bot.fake.responses[-1].body["text"].startswith("Only the owner <@UCSM1>, their managers")
    flush(bot)
    assert outbox_count(bot.engine) == before_rows
    assert parent(bot) == before_msg
    assert events(bot.engine) == ["opened"]
    esc = escalation(bot.engine)
    assert (esc.status, esc.owner_slack_id, esc.level) == ("open", "UCSM1", 0)


def test_escalate_button_pages_next_level_now_and_policy_continues_above(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev2 reports are empty")  # opened by UCSM2, who may escalate
    click(bot, parent(bot), ActionId.ESC_ESCALATE, user_id="UCSM2")
    flush(bot)
    msg = parent(bot)
    assert "<@UCSM2> escalated: paging <@UDIR1> (manager of <@UCSM1>)." in thread_replies(bot, msg)[-1]
    assert len(dms(bot, "UDIR1")) == 1
    assert field_value(msg, "Paged up the chain") == "<@UDIR1>"
    assert "Escalated by <@UCSM2>" in msg["blocks"][-2]["elements"][0]["text"]

    bot.clock.advance(hours=1)  # sev2: re-page the owner
    assert run_policy(bot) == 1
    bot.clock.advance(hours=1)  # next level above the manager: the exec
    assert run_policy(bot) == 1
    assert len(dms(bot, "UEXEC1")) == 1
    assert len(dms(bot, "UDIR1")) == 1
    # Nobody is left above: the button says so and changes nothing.
    click(bot, parent(bot), ActionId.ESC_ESCALATE, user_id="UCSM1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert "has been paged already" in bot.fake.responses[0].body["text"]


def test_resolve_and_add_note_modals_and_both_durations(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    bot.clock.advance(minutes=10)
    click(bot, parent(bot), ActionId.ESC_ACK, user_id="UCSM1")
    flush(bot)

    bot.clock.advance(minutes=20)
    click(bot, parent(bot), ActionId.ESC_NOTE, user_id="UOUT1")  # anyone may add a note
    view = bot.fake.calls_to("views.open")[-1].args["view"]
    assert view["title"]["text"] == "Add a note"
    response = submit_modal(bot, user_id="UOUT1", note="Customer confirms EU only")
    assert response.status_code == 200 and response.text == ""
    flush(bot)
    msg = parent(bot)
    assert thread_replies(bot, msg)[-1] == ":memo: Note from <@UOUT1>: Customer confirms EU only"
    assert "Note by <@UOUT1>" in msg["blocks"][-2]["elements"][0]["text"]

    # an empty resolution is refused on the modal itself
    bot.clock.advance(minutes=40)
    click(bot, msg, ActionId.ESC_RESOLVE, user_id="UCSM1")
    assert bot.fake.calls_to("views.open")[-1].args["view"]["title"]["text"] == "Resolve escalation"
    empty = submit_modal(bot, user_id="UCSM1", note="   ")
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"note": "Write a resolution note: what fixed it. Nothing was changed."},
    }
    assert escalation(bot.engine).status == "acknowledged"

    done = submit_modal(bot, user_id="UCSM1", note="Rolled back the payment gateway config")
    assert done.status_code == 200 and done.text == ""
    flush(bot)
    msg = parent(bot)
    assert "Resolved" in field_value(msg, "Status")
    assert action_elements(msg) == {}  # a resolved escalation has no buttons
    resolution = next(b for b in msg["blocks"] if b.get("block_id") == "resolution")["text"]["text"]
    assert "Rolled back the payment gateway config" in resolution
    assert "Time to acknowledge 10 min · time to resolve 1 h 10 min" in resolution
    assert thread_replies(bot, msg)[-1] == (
        ":white_check_mark: Resolved by <@UCSM1>: Rolled back the payment gateway config\n"
        "Time to acknowledge 10 min · time to resolve 1 h 10 min"
    )
    esc = escalation(bot.engine)
    assert (esc.status, esc.resolved_by, esc.resolution) == (
        "resolved",
        "UCSM1",
        "Rolled back the payment gateway config",
    )
    assert durations(esc) == (timedelta(minutes=10), timedelta(minutes=70))
    assert events(bot.engine) == ["opened", "acknowledged", "note", "resolved"]

    # a stale Acknowledge button (from an old copy of the message) is refused
    bot.fake.responses.clear()
    stale = bot.fake.calls_to("chat.postMessage")[0].args
    stale_msg = {**parent(bot), "blocks": stale["blocks"]}
    click(bot, stale_msg, ActionId.ESC_ACK, user_id="UCSM1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert "was already resolved by <@UCSM1>" in bot.fake.responses[0].body["text"]


def test_manager_and_admin_may_acknowledge_and_a_second_ack_is_refused(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 one")
    open_via_command(bot, "Globex sev1 two")
    click(bot, parent(bot, 0), ActionId.ESC_ACK, user_id="UDIR1")  # Casey's manager
    click(bot, parent(bot, 1), ActionId.ESC_ACK, user_id="UADMIN")  # CSBOT_ADMINS
    flush(bot)
    assert "Acknowledged" in field_value(parent(bot, 0), "Status")
    assert "Acknowledged" in field_value(parent(bot, 1), "Status")
    assert escalation(bot.engine, 1).acknowledged_by == "UDIR1"
    assert escalation(bot.engine, 2).acknowledged_by == "UADMIN"
    stale = bot.fake.calls_to("chat.postMessage")[0].args
    click(bot, {**parent(bot, 0), "blocks": stale["blocks"]}, ActionId.ESC_ACK, user_id="UCSM1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert bot.fake.responses[0].body["text"] == (
        "Escalation #1 is already acknowledged by <@UDIR1>. Nothing was changed."
    )
    assert events(bot.engine, 1) == ["opened", "acknowledged"]


# --- /cs escalations ---------------------------------------------------------------------


def test_escalations_mine_and_all(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev2 reports empty")
    bot.clock.advance(minutes=5)
    open_via_command(bot, "Globex sev1 SSO down")
    open_via_command(bot, "Globex sev3 typo on invoice")
    click(bot, parent(bot, 2), ActionId.ESC_ACK, user_id="UCSM2")
    flush(bot)
    bot.clock.advance(hours=2)

    mine = bot.send.command("escalations", user_id="UCSM1").json()
    assert mine["response_type"] == "ephemeral"
    assert mine["text"].startswith("Your open escalations (1): SEV2 Acme Corp #1 (open)")
    line = mine["blocks"][1]["text"]["text"]
    assert "*SEV2* · *Acme Corp* — reports empty" in line
    assert "#1 · owner <@UCSM1> · open · open 2 h 5 min" in line
    assert f"<https://fake.slack.com/archives/CESC/p{parent(bot, 0)['ts'].replace('.', '')}|thread>" in line

    everyone = bot.send.command("escalations all", user_id="UOUT1").json()
    assert everyone["text"].startswith(
        "Open escalations (3): SEV1 Globex #2 (open); SEV2 Acme Corp #1 (open); SEV3 Globex #3 (acknowledged)"
    )
    none = bot.send.command("escalations", user_id="UOUT1").json()
    assert none["text"] == "You own no open escalations. `/cs escalations all` lists the team's."
    bad = bot.send.command("escalations everything", user_id="UOUT1").json()
    assert bad["text"].startswith("Use: `/cs escalations [mine|all]`")


def test_help_explains_escalate(bot: Bot) -> None:
    answer = bot.send.command("help escalate").json()
    assert answer["text"].startswith("`/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>`")
    assert "then their manager, then the CS execs" in answer["text"]


def test_parent_shows_the_latest_state_whatever_order_updates_are_delivered(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev1 checkout down")
    msg = parent(bot)
    click(bot, msg, ActionId.ESC_ACK, user_id="UCSM1")
    # the ack's parent update is held back, as a retry after a 429 would be
    with session_scope(bot.engine) as s:
        held = s.exec(select(Outbox).where(Outbox.key.like("esc:1:ev:%:parent"))).one()  # type: ignore[attr-defined]
        held.next_attempt_at = bot.clock.now() + timedelta(minutes=1)
        s.add(held)
    click(bot, msg, ActionId.ESC_ESCALATE, user_id="UCSM1")
    flush(bot)  # the escalate update lands first
    bot.clock.advance(minutes=1)
    flush(bot)  # then the older one
    updates = bot.fake.calls_to("chat.update")
    assert len(updates) == 2
    final = parent(bot)
    assert "Acknowledged" in field_value(final, "Status")
    assert field_value(final, "Paged up the chain") == "<@UDIR1>"
    assert "Escalated by <@UCSM1>" in final["blocks"][-2]["elements"][0]["text"]


def test_reassigning_an_acknowledged_escalation_reopens_it_for_the_new_owner(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev2 reports empty")
    click(bot, parent(bot), ActionId.ESC_ACK, user_id="UCSM1")
    flush(bot)
    assert ActionId.ESC_ACK not in action_elements(parent(bot))
    click(bot, parent(bot), ActionId.ESC_REASSIGN, user_id="UDIR1", selected_user="UCSM2")
    flush(bot)
    msg = parent(bot)
    assert "Open" in field_value(msg, "Status") and field_value(msg, "Owner") == "<@UCSM2>"
    assert ActionId.ESC_ACK in action_elements(msg)
    # reassigning to the current owner is refused
    click(bot, msg, ActionId.ESC_REASSIGN, user_id="UDIR1", selected_user="UCSM2")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert bot.fake.responses[0].body["text"] == "<@UCSM2> already owns escalation #1. Nothing was changed."
    bot.clock.advance(hours=1)
    assert run_policy(bot) == 1
    assert len(dms(bot, "UCSM2")) == 2  # paged at reassignment, re-paged one SLA later
    esc = escalation(bot.engine)
    assert (
        esc.acknowledged_by == "UCSM1" and esc.status == "open"
    )  # the first ack still counts for the metrics


def test_nobody_above_the_owner(team: Bot) -> None:
    bot = team
    from models.tables import Member

    with session_scope(bot.engine) as s:
        s.delete(s.get(Member, "UEXEC1"))
        dir1 = s.get(Member, "UDIR1")
        assert dir1 is not None
        dir1.manager_slack_id = None
        s.add(dir1)
    open_via_command(bot, "Acme Corp sev1 <@UDIR1> down")
    click(bot, parent(bot), ActionId.ESC_ESCALATE, user_id="UDIR1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert (
        bot.fake.responses[0].body["text"].startswith("Nobody is above <@UDIR1> to page: add their manager")
    )
    bot.clock.advance(minutes=15)
    assert run_policy(bot) == 1
    bot.clock.advance(minutes=15)
    assert run_policy(bot) == 1  # the next-level step re-pages the owner, and says why
    assert "Nobody above them to page" in thread_replies(bot, parent(bot))[-1]
    assert len(dms(bot, "UDIR1")) == 3


def test_two_people_acknowledging_at_once_act_once(team: Bot) -> None:
    """The second click waits for the first (row lock on PostgreSQL, the writer queue
    on SQLite) and is then told it is already acknowledged: one event, one page update."""
    import threading
    import time

    from sqlalchemy import event as sa_event
    from sqlalchemy import text

    from bot.errors import CsbotError
    from bot.escalations import service as escalations

    bot = team
    open_via_command(bot, "acme corp sev1 checkout fails")
    flush(bot)
    read_returned = threading.Event()
    outcome: list[str] = []

    def note_read(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name == "second-click" and "FROM escalation" in statement:
            read_returned.set()

    def second_waits_on_a_lock() -> bool:
        with bot.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
        return bool(waiting)

    def second_click() -> None:
        try:
            with session_scope(bot.engine) as s:
                escalations.acknowledge(s, bot.clock, bot.deps.settings, 1, "UDIR1")
            outcome.append("acknowledged")
        except CsbotError as exc:
            outcome.append(exc.message)

    sa_event.listen(bot.engine, "after_cursor_execute", note_read)
    try:
        second = threading.Thread(target=second_click, name="second-click")
        with session_scope(bot.engine) as s:
            escalations.acknowledge(s, bot.clock, bot.deps.settings, 1, "UCSM1")
            s.flush()
            second.start()
            if bot.engine.dialect.name == "postgresql":  # SQLite: it cannot begin before we commit
                # Commit only once the second click has read the row (the race) or is
                # waiting for our lock on it (no race): bounded, on observable states.
                deadline = time.monotonic() + 10
                while not read_returned.wait(0.01) and not second_waits_on_a_lock():
                    assert time.monotonic() < deadline, "the second click neither read nor waited"
        second.join(timeout=30)
    finally:
        sa_event.remove(bot.engine, "after_cursor_execute", note_read)
    assert not second.is_alive()
    assert len(outcome) == 1 and "already acknowledged" in outcome[0], outcome
    assert events(bot.engine).count("acknowledged") == 1
