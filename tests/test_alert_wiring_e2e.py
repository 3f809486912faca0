"""The at-risk alert's buttons wired to the other features, end to end over
signed HTTP on both databases: Log touchpoint opens the log form for the
account, Open escalation opens a form whose submission runs the escalate
flow, and `/cs account` shows the health section."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.escalations.blocks import OPEN_OWNER_BLOCK, OPEN_SEVERITY_BLOCK, OPEN_SUMMARY_BLOCK
from bot.slack.action_ids import ActionId, CallbackId
from bot.touchpoints.form import B_ACCOUNT, B_DATE, B_NOTE, B_SENTIMENT, B_TAGS, B_TYPE
from models.db import session_scope
from models.tables import Account, AuditLog, Escalation, EscalationEvent, Outbox, Touchpoint
from tests.escalation_helpers import dms, field_value, flush, parent, parents, thread_replies
from tests.harness import Bot
from tests.test_health_job import portfolio, run_and_deliver, subscribe

ALERTS = "CALERTS"


def posted_alert(bot: Bot) -> dict[str, Any]:
    """Run the nightly job with an `alerts` subscription; return the one message it posted."""
    subscribe(bot, ALERTS)
    run_and_deliver(bot)
    (message,) = bot.fake.messages_in(ALERTS)
    return message


def button(message: dict[str, Any], account_id: int, action_id: str) -> dict[str, Any]:
    """The alert's own button for one account, as Slack shows it."""
    for block in message["blocks"]:
        if block["type"] == "actions" and block["block_id"] == f"alert_{account_id}":
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return element
    raise AssertionError(f"no {action_id} button for account {account_id}")


def click(bot: Bot, message: dict[str, Any], element: dict[str, Any], user_id: str = "UCSM1") -> None:
    """Click a button of the alert message in the alerts channel (Slack's real payload shape)."""
    response = bot.send.block_action(
        element["action_id"],
        value=element["value"],
        user_id=user_id,
        channel_id=ALERTS,
        message=message,
        container={
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": ALERTS,
            "is_ephemeral": False,
        },
        extra_action={"block_id": f"alert_{element['value']}"},
    )
    assert response.status_code == 200 and response.text == ""


def opened_view(bot: Bot, count: int = 1) -> dict[str, Any]:
    assert bot.fake.wait_for(lambda: len(bot.fake.calls_to("views.open")) == count)
    call = bot.fake.calls_to("views.open")[-1]
    assert call.response["ok"] is True
    return call.args["view"]


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def count(bot: Bot, table: Any) -> int:
    with session_scope(bot.engine) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


# --- Log touchpoint -------------------------------------------------------------------


def test_log_touchpoint_opens_the_log_form_for_the_account_and_submitting_records_it(bot: Bot) -> None:
    ids = portfolio(bot)
    bot.deps.accounts.invalidate()
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Initech"], ActionId.ALERT_LOG_TOUCHPOINT))

    view = opened_view(bot)
    assert view["callback_id"] == CallbackId.LOG_MODAL
    fields = blocks_by_id(view)
    assert fields[B_ACCOUNT]["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "Initech"},
        "value": str(ids["Initech"]),
    }
    assert fields[B_DATE]["element"]["initial_date"] == "2026-11-20"
    assert bot.fake.responses == []  # no "type this command" answer any more

    # Slack sends the form back with the account as pre-selected and what the user filled in.
    values = {
        B_ACCOUNT: {
            ActionId.LOG_ACCOUNT: {
                "type": "external_select",
                "selected_option": fields[B_ACCOUNT]["element"]["initial_option"],
            }
        },
        B_TYPE: {
            ActionId.LOG_TYPE: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Call"}, "value": "call"},
            }
        },
        B_DATE: {ActionId.LOG_DATE: {"type": "datepicker", "selected_date": "2026-11-20"}},
        B_SENTIMENT: {
            ActionId.LOG_SENTIMENT: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Positive"}, "value": "1"},
            }
        },
        B_TAGS: {ActionId.LOG_TAGS: {"type": "plain_text_input", "value": "#renewal"}},
        B_NOTE: {ActionId.LOG_NOTE: {"type": "plain_text_input", "value": "Walked through the renewal plan"}},
    }
    done = bot.send.view_submission(
        CallbackId.LOG_MODAL, values, private_metadata=view["private_metadata"], view_id="VALERTLOG"
    )
    assert done.status_code == 200 and done.text == ""
    assert bot.fake.wait_for(lambda: bot.fake.calls_to("chat.postEphemeral"))

    with session_scope(bot.engine) as s:
        rows = s.exec(select(Touchpoint).where(Touchpoint.note == "Walked through the renewal plan")).all()
        assert [(t.account_id, t.type, t.sentiment, t.tags, t.author_slack_id) for t in rows] == [
            (ids["Initech"], "call", 1, ["renewal"], "UCSM1")
        ]
    confirmation = bot.fake.calls_to("chat.postEphemeral")[0].args
    assert (confirmation["channel"], confirmation["user"]) == (ALERTS, "UCSM1")
    assert "Initech" in json.dumps(confirmation["blocks"])
    assert confirmation["blocks"][-1]["elements"][0]["action_id"] == ActionId.UNDO


def test_log_touchpoint_for_an_account_that_is_gone_says_so_and_opens_nothing(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    # A button whose account no longer exists (Slack keeps old messages).
    stale = dict(button(alert, ids["Acme"], ActionId.ALERT_LOG_TOUCHPOINT), value="999999")
    click(bot, alert, stale)
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    answer = bot.fake.responses[0].body
    assert answer["text"] == "That account no longer exists."
    assert (answer["response_type"], answer["replace_original"]) == ("ephemeral", False)
    assert bot.fake.calls_to("views.open") == []


def test_a_form_slack_will_not_open_gets_a_sentence(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    bot.fake.fail("views.open", error="expired_trigger_id")
    with caplog.at_level(logging.WARNING, logger="handlers.actions"):
        click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
        assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    answer = bot.fake.responses[0].body
    assert answer["text"] == "Sorry, I could not open the form. Please click the button again."
    assert answer["response_type"] == "ephemeral"
    assert count(bot, Escalation) == 1  # only portfolio()'s own
    # Slack's refusal is one log line with its error, not a traceback
    (logged,) = [r for r in caplog.records if r.name == "handlers.actions"]
    assert logged.getMessage().endswith(": expired_trigger_id") and logged.exc_info is None


# --- Open escalation ------------------------------------------------------------------


def escalation_values(
    severity: str | None = "sev1", owner: str | None = None, summary: str = "Exec sponsor threatens to churn"
) -> dict[str, dict[str, Any]]:
    sev_option = (
        {"text": {"type": "plain_text", "text": severity.upper()}, "value": severity} if severity else None
    )
    return {
        OPEN_SEVERITY_BLOCK: {
            ActionId.ESC_FORM_SEVERITY: {"type": "static_select", "selected_option": sev_option}
        },
        OPEN_OWNER_BLOCK: {ActionId.ESC_FORM_OWNER: {"type": "users_select", "selected_user": owner}},
        OPEN_SUMMARY_BLOCK: {ActionId.ESC_FORM_SUMMARY: {"type": "plain_text_input", "value": summary}},
    }


def test_open_escalation_opens_the_form_and_submitting_runs_the_escalate_flow(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))

    view = opened_view(bot)
    assert view["callback_id"] == CallbackId.ESC_OPEN_MODAL
    fields = blocks_by_id(view)
    assert fields["account"]["text"]["text"] == "Escalation for *Acme*"
    assert [o["value"] for o in fields[OPEN_SEVERITY_BLOCK]["element"]["options"]] == ["sev1", "sev2", "sev3"]
    assert fields[OPEN_SEVERITY_BLOCK]["element"]["options"][0]["text"]["text"] == (
        "SEV1 · acknowledge within 15 min"
    )
    owner = fields[OPEN_OWNER_BLOCK]
    assert owner["optional"] is True
    assert owner["element"]["type"] == "users_select" and owner["element"]["initial_user"] == "UCSM1"
    assert fields[OPEN_SUMMARY_BLOCK]["element"]["type"] == "plain_text_input"
    assert bot.fake.responses == []

    # UCSM2 opens it; the owner stays the pre-selected CSM (UCSM1).
    done = bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL,
        escalation_values("sev1", owner="UCSM1"),
        user_id="UCSM2",
        private_metadata=view["private_metadata"],
        view_id="VALERTESC",
    )
    assert done.status_code == 200 and done.text == ""
    with session_scope(bot.engine) as s:
        (esc,) = s.exec(select(Escalation).where(Escalation.account_id == ids["Acme"])).all()
        assert (esc.severity, esc.summary, esc.owner_slack_id, esc.opened_by, esc.status, esc.channel_id) == (
            "sev1",
            "Exec sponsor threatens to churn",
            "UCSM1",
            "UCSM2",
            "open",
            "CESC",
        )
        kinds = s.exec(select(EscalationEvent.kind).where(EscalationEvent.escalation_id == esc.id)).all()
        assert list(kinds) == ["opened"]
        esc_id = esc.id

    flush(bot)
    msg = parent(bot)
    assert msg["text"].startswith("SEV1 escalation: Acme — Exec sponsor threatens to churn")
    assert field_value(msg, "Owner") == "<@UCSM1>"
    assert field_value(msg, "Health") == "27 (red)"  # the snapshot the nightly job just wrote
    assert [b["action_id"] for b in msg["blocks"][-1]["elements"]][0] == ActionId.ESC_ACK
    assert thread_replies(bot, msg)[0].startswith("<@UCSM1>, you own this SEV1 escalation for *Acme*")
    (page,) = dms(bot, "UCSM1")
    assert page.startswith(":rotating_light: You were paged: SEV1 escalation for *Acme*")

    # The opener is told by DM, with a link to the parent message.
    (confirmation,) = dms(bot, "UCSM2")
    (link,) = [
        c.response["permalink"]
        for c in bot.fake.calls_to("chat.getPermalink")
        if c.args["message_ts"] == msg["ts"]
    ]
    assert confirmation == (
        f":rotating_light: Escalation #{esc_id} opened: SEV1 for *Acme*, owner <@UCSM1>. Its page is queued "
        "for <#CESC>: the owner will be paged in its thread and by DM, and must acknowledge within 15 min. "
        f"I'll tell you if the page fails. <{link}|Open it>"
    )


def test_the_same_form_submitted_twice_opens_one_escalation(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
    meta = opened_view(bot)["private_metadata"]
    for _ in range(2):  # a double click on Open escalation
        done = bot.send.view_submission(
            CallbackId.ESC_OPEN_MODAL,
            escalation_values("sev2"),
            user_id="UCSM2",
            private_metadata=meta,
            view_id="VTWICE",
        )
        assert done.status_code == 200 and done.text == ""
    with session_scope(bot.engine) as s:
        assert len(s.exec(select(Escalation).where(Escalation.account_id == ids["Acme"])).all()) == 1
    flush(bot)
    assert len(parents(bot)) == 1
    assert len(dms(bot, "UCSM1")) == 1  # the owner is paged once
    assert len(dms(bot, "UCSM2")) == 1  # the opener is told once
    # Another form (another view) is another escalation.
    bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL, escalation_values("sev3"), private_metadata=meta, view_id="VOTHER"
    )
    flush(bot)
    assert len(parents(bot)) == 2


def test_open_escalation_owner_left_empty_defaults_to_the_csm_and_another_owner_is_paged(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Initech"], ActionId.ALERT_OPEN_ESCALATION))
    meta = opened_view(bot)["private_metadata"]
    bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL, escalation_values("sev3"), private_metadata=meta, view_id="VINITECH"
    )
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
    meta = opened_view(bot, 2)["private_metadata"]
    bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL,
        escalation_values("sev2", owner="UCSM2"),
        private_metadata=meta,
        view_id="VACME",
    )
    with session_scope(bot.engine) as s:
        opened = s.exec(
            select(Escalation.account_id, Escalation.severity, Escalation.owner_slack_id).where(
                Escalation.account_id != ids["Globex"]  # portfolio()'s own sev1
            )
        ).all()
    assert sorted(opened) == sorted([(ids["Initech"], "sev3", "UCSM1"), (ids["Acme"], "sev2", "UCSM2")])
    flush(bot)
    assert any("SEV2 escalation for *Acme*" in t for t in dms(bot, "UCSM2"))
    assert any("SEV3 escalation for *Initech*" in t for t in dms(bot, "UCSM1"))


def _nothing_written(bot: Bot) -> None:
    assert count(bot, Escalation) == 1  # the one portfolio() opened on Globex
    assert count(bot, EscalationEvent) == 0
    with session_scope(bot.engine) as s:
        assert s.exec(select(Outbox).where(Outbox.key.like("esc:%"))).all() == []  # type: ignore[attr-defined]
        assert s.exec(select(AuditLog).where(AuditLog.action == "open")).all() == []


def test_invalid_escalation_form_shows_errors_and_writes_nothing(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
    meta = opened_view(bot)["private_metadata"]

    response = bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL, escalation_values(None, summary="   "), private_metadata=meta
    ).json()
    assert response["response_action"] == "errors"
    assert response["errors"] == {
        OPEN_SEVERITY_BLOCK: "Pick a severity: sev1, sev2 or sev3.",
        OPEN_SUMMARY_BLOCK: "Add a summary: what is wrong, for whom.",
    }
    _nothing_written(bot)

    # An account with no CSM, and nobody picked as owner.
    with session_scope(bot.engine) as s:
        acme = s.get(Account, ids["Acme"])
        assert acme is not None
        acme.csm_slack_id = None
        s.add(acme)
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
    view = opened_view(bot, 2)
    owner = blocks_by_id(view)[OPEN_OWNER_BLOCK]
    assert "initial_user" not in owner["element"]
    assert owner["hint"]["text"] == "This account has no CSM on record: pick who owns it."
    response = bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL, escalation_values("sev1"), private_metadata=view["private_metadata"]
    ).json()
    assert response == {
        "response_action": "errors",
        "errors": {OPEN_OWNER_BLOCK: "Acme has no CSM on record: pick who owns this escalation."},
    }
    _nothing_written(bot)
    flush(bot)
    assert bot.fake.messages_in("CESC") == []
    assert dms(bot, "UCSM1") == []


def test_open_escalation_without_an_escalations_channel_says_so_on_the_form(bot: Bot) -> None:
    ids = portfolio(bot)
    alert = posted_alert(bot)
    click(bot, alert, button(alert, ids["Acme"], ActionId.ALERT_OPEN_ESCALATION))
    meta = opened_view(bot)["private_metadata"]
    bot.deps.settings = dataclasses.replace(bot.deps.settings, escalation_channel=None)
    response = bot.send.view_submission(
        CallbackId.ESC_OPEN_MODAL, escalation_values("sev2"), private_metadata=meta
    ).json()
    assert response["response_action"] == "errors"
    assert response["errors"][OPEN_SUMMARY_BLOCK].startswith("No escalations channel is set up")
    _nothing_written(bot)


# --- the account card -----------------------------------------------------------------


def test_account_card_shows_score_band_trend_and_reasons(bot: Bot) -> None:
    portfolio(bot)
    bot.deps.accounts.invalidate()
    run_and_deliver(bot)  # yesterday's snapshot, for the trend
    bot.clock.advance(days=1)
    card = bot.send.command("account Acme").json()
    blocks = card["blocks"]
    assert blocks[0]["text"]["text"] == "Acme"
    assert blocks[1].get("block_id") == "health"  # right after the header
    assert [b.get("block_id") for b in blocks].count("health") == 1
    text = blocks[1]["text"]["text"]
    lines = text.split("\n")
    assert lines[0] == "*Health:* :red_circle: *27* (red) · :warning: *at risk*"
    assert lines[1].startswith("30-day trend ") and "→ 0 since 11-20 (27 → 27)" in lines[1]
    assert "• score 27 is red (below 40)" in lines
    assert "• no touchpoint in 61 days" in lines
    assert "• last 3 touchpoints: 3 negative" in lines
    # A green account shows its score without the at-risk flag.
    hooli = bot.send.command("account Hooli").json()["blocks"]
    (section,) = [b for b in hooli if b.get("block_id") == "health"]
    assert section["text"]["text"].startswith("*Health:* :large_green_circle: *100* (green)\n")
    # The card reads the data as it stands: a touchpoint logged now shows at once.
    assert bot.send.command("log Acme call Renewal plan agreed +").status_code == 200
    blocks = bot.send.command("account Acme").json()["blocks"]
    lines = blocks[1]["text"]["text"].split("\n")
    assert not lines[0].startswith("*Health:* :red_circle: *27*")
    assert "• no touchpoint in 61 days" not in lines


def test_health_section_is_shown_once_however_many_apps_were_built(bot: Bot) -> None:
    from bot.accounts.card import CARD_SECTIONS
    from bot.app import build_app

    before = list(CARD_SECTIONS)
    for _ in range(3):
        build_app(bot.deps.settings, bot.engine, bot.clock, client=bot.deps.client)
    assert before == CARD_SECTIONS  # nothing process-wide was added
    portfolio(bot)
    bot.deps.accounts.invalidate()
    blocks = bot.send.command("account Globex").json()["blocks"]
    assert [b.get("block_id") for b in blocks].count("health") == 1
    assert list(bot.deps.card_sections) == ["health"]
