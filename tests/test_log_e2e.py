"""`/cs log`, the account picker, the log form, the message shortcut and
`/cs account`, end to end over signed HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from bot.slack.action_ids import ActionId, CallbackId
from bot.touchpoints.form import B_ACCOUNT, B_DATE, B_NOTE, B_SENTIMENT, B_TAGS, B_TYPE
from models.db import session_scope
from models.tables import Account, AuditLog, Escalation, Touchpoint
from tests.harness import Bot

ACCOUNTS = ["Acme Corp", "Acme Robotics", "Globex Health", "Initech", "Umbrella"]


def _seed(bot: Bot) -> dict[str, int]:
    now = bot.clock.now()
    ids: dict[str, int] = {}
    with session_scope(bot.engine) as s:
        for i, name in enumerate(ACCOUNTS):
            account = Account(
                name=name,
                arr_cents=(i + 1) * 10_000_000,
                segment="enterprise" if i % 2 == 0 else "mid-market",
                csm_slack_id="UCSM1",
                renewal_date=date(2027, 1, 30),
                created_at=now,
                updated_at=now,
            )
            s.add(account)
            s.flush()
            ids[name] = account.id  # type: ignore[assignment]
    bot.deps.accounts.invalidate()
    return ids


def _touchpoints(bot: Bot, *, live_only: bool = True) -> list[Touchpoint]:
    with session_scope(bot.engine) as s:
        query = select(Touchpoint).order_by(Touchpoint.id)
        if live_only:
            query = query.where(Touchpoint.deleted_at.is_(None))  # type: ignore[union-attr]
        return list(s.exec(query).all())


def _texts(blocks: list[dict]) -> str:
    out = []
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            out.append(b["text"]["text"])
        for f in b.get("fields", []):
            out.append(f["text"])
        for e in b.get("elements", []):
            if isinstance(e.get("text"), str):
                out.append(e["text"])
    return "\n".join(out)


def test_one_line_log_writes_one_row_and_confirms_with_undo(bot: Bot) -> None:
    ids = _seed(bot)
    answer = bot.send.command(
        "log Acme Corp call yesterday walked through renewal quote #renewal #Pricing +"
    ).json()
    rows = _touchpoints(bot)
    assert len(rows) == 1
    tp = rows[0]
    assert (tp.account_id, tp.author_slack_id, tp.type, tp.sentiment) == (
        ids["Acme Corp"],
        "UCSM1",
        "call",
        1,
    )
    assert tp.note == "walked through renewal quote"
    assert tp.tags == ["renewal", "pricing"]
    # Yesterday in New York (UCSM1), at noon there.
    assert tp.occurred_at == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    assert answer["response_type"] == "ephemeral"
    shown = _texts(answer["blocks"])
    for part in (
        "Acme Corp",
        "Call",
        "Thu 19 Nov 2026",
        "positive",
        "`#renewal`",
        "`#pricing`",
        "walked through",
    ):
        assert part in shown
    undo = answer["blocks"][-1]["elements"][0]
    assert undo["action_id"] == ActionId.UNDO and json.loads(undo["value"]) == {
        "kind": "touchpoint",
        "id": tp.id,
    }
    with session_scope(bot.engine) as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "touchpoint.create")).one()
    assert (audit.actor_slack_id, audit.entity_id) == ("UCSM1", str(tp.id))


def test_the_same_command_delivered_twice_records_once(bot: Bot) -> None:
    _seed(bot)
    body = bot.send.command_body("log Initech email sent the deck", trigger_id="9.9.same")
    first = bot.send.post(body, "application/x-www-form-urlencoded").json()
    # The same delivery again without a retry header (another replica, or after a restart,
    # so the in-memory redelivery filter cannot know it): the idempotency key still holds.
    second = bot.send.post(body, "application/x-www-form-urlencoded").json()
    assert len(_touchpoints(bot)) == 1
    assert "Logged" in first["text"] and "Already logged" in second["text"]
    with session_scope(bot.engine) as s:
        assert s.exec(select(func.count(AuditLog.id))).one() == 1


def test_undo_removes_the_touchpoint_from_the_account_card(bot: Bot) -> None:
    _seed(bot)
    answer = bot.send.command("log Umbrella meeting onsite with the platform team -").json()
    card = bot.send.command("account Umbrella").json()
    assert "onsite with the platform team" in _texts(card["blocks"])
    undo = answer["blocks"][-1]["elements"][0]
    bot.send.block_action(undo["action_id"], value=undo["value"])
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert "Undone" in bot.fake.responses[0].body["text"]
    card = bot.send.command("account Umbrella").json()
    shown = _texts(card["blocks"])
    assert "onsite with the platform team" not in shown and "No touchpoints yet." in shown
    assert _touchpoints(bot) == [] and len(_touchpoints(bot, live_only=False)) == 1


def test_ambiguous_prefix_offers_buttons_and_clicking_one_logs(bot: Bot) -> None:
    ids = _seed(bot)
    answer = bot.send.command("log acme qbr 11/18 reviewed adoption #adoption ~").json()
    assert _touchpoints(bot) == []
    assert "matches 2 accounts" in answer["text"]
    buttons = answer["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Acme Corp", "Acme Robotics"]
    assert all(len(b["value"]) < 2000 for b in buttons)
    robotics = buttons[1]
    bot.send.block_action(robotics["action_id"], value=robotics["value"])
    # Double click: the same button again records nothing more.
    bot.send.block_action(robotics["action_id"], value=robotics["value"])
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 2)
    rows = _touchpoints(bot)
    assert len(rows) == 1
    tp = rows[0]
    assert (tp.account_id, tp.type, tp.note, tp.tags, tp.sentiment) == (
        ids["Acme Robotics"],
        "qbr",
        "reviewed adoption",
        ["adoption"],
        0,
    )
    assert tp.occurred_at.astimezone(UTC).date() == date(2026, 11, 18)
    confirmation = bot.fake.responses[0].body
    assert confirmation["replace_original"] is True
    assert "Acme Robotics" in _texts(confirmation["blocks"])
    assert confirmation["blocks"][-1]["elements"][0]["action_id"] == ActionId.UNDO


def test_unknown_account_writes_nothing_and_offers_close_names(bot: Bot) -> None:
    _seed(bot)
    answer = bot.send.command("log Globax Helth Systems call hello").json()
    assert answer["text"].startswith("No account named “Globax Helth Systems”.")
    assert "Globex Health" in answer["text"] and "Nothing was saved." in answer["text"]
    assert _touchpoints(bot, live_only=False) == []
    with session_scope(bot.engine) as s:
        assert len(s.exec(select(Account)).all()) == len(ACCOUNTS)
        assert s.exec(select(AuditLog)).all() == []


def test_bad_line_says_what_is_wrong_and_writes_nothing(bot: Bot) -> None:
    _seed(bot)
    answer = bot.send.command("log Acme Corp call 2026-11-25 planned call").json()
    assert "`2026-11-25` is in the future" in answer["text"]
    assert "/cs log <account> <type> [date] <note...> [#tag ...] [+|-|~]" in answer["text"]
    assert _touchpoints(bot, live_only=False) == []


def _form_values(
    account_id: int, *, type_: str = "meeting", day: str = "2026-11-19", note: str = "notes"
) -> dict:
    return {
        B_ACCOUNT: {
            ActionId.LOG_ACCOUNT: {
                "type": "external_select",
                "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": str(account_id)},
            }
        },
        B_TYPE: {
            ActionId.LOG_TYPE: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": type_},
            }
        },
        B_DATE: {ActionId.LOG_DATE: {"type": "datepicker", "selected_date": day}},
        B_SENTIMENT: {
            ActionId.LOG_SENTIMENT: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": "-1"},
            }
        },
        B_NOTE: {ActionId.LOG_NOTE: {"type": "plain_text_input", "value": note}},
        B_TAGS: {ActionId.LOG_TAGS: {"type": "plain_text_input", "value": "#Churn-risk, exec"}},
    }


def test_log_without_arguments_opens_the_form_and_its_submission_writes_the_row(bot: Bot) -> None:
    ids = _seed(bot)
    response = bot.send.command("log", channel_id="CGENERAL")
    assert response.status_code == 200 and response.text == ""
    opened = bot.fake.calls_to("views.open")
    assert len(opened) == 1 and opened[0].response["ok"] is True
    view = opened[0].args["view"]
    assert view["callback_id"] == CallbackId.LOG_MODAL
    by_block = {b["block_id"]: b for b in view["blocks"] if "block_id" in b}
    assert by_block[B_ACCOUNT]["element"]["type"] == "external_select"
    assert by_block[B_DATE]["element"]["initial_date"] == "2026-11-20"
    assert {o["value"] for o in by_block[B_TYPE]["element"]["options"]} >= {"call", "qbr", "nps-followup"}

    # The account picker searches the index.
    options = bot.send.interactive(
        {
            "type": "block_suggestion",
            "action_id": ActionId.LOG_ACCOUNT,
            "block_id": B_ACCOUNT,
            "value": "acm",
            "user": {"id": "UCSM1"},
            "view": {"id": "V1", "callback_id": CallbackId.LOG_MODAL},
        }
    ).json()
    assert [o["text"]["text"] for o in options["options"]][:2] == ["Acme Corp", "Acme Robotics"]

    values = _form_values(ids["Globex Health"], note="Exec sponsor worried about seats")
    done = bot.send.view_submission(
        CallbackId.LOG_MODAL, values, private_metadata=view["private_metadata"], view_id="VLOG1"
    )
    assert done.status_code == 200 and done.text == ""
    # A double click on Log submits the same view again: still one touchpoint.
    bot.send.view_submission(
        CallbackId.LOG_MODAL, values, private_metadata=view["private_metadata"], view_id="VLOG1"
    )
    assert bot.fake.wait_for(lambda: len(bot.fake.calls_to("chat.postEphemeral")) == 2)
    rows = _touchpoints(bot)
    assert len(rows) == 1
    tp = rows[0]
    assert (tp.account_id, tp.type, tp.sentiment, tp.tags, tp.permalink) == (
        ids["Globex Health"],
        "meeting",
        -1,
        ["churn-risk", "exec"],
        None,
    )
    eph = bot.fake.calls_to("chat.postEphemeral")[0].args
    assert (eph["channel"], eph["user"]) == ("CGENERAL", "UCSM1")
    assert (
        "Globex Health" in _texts(eph["blocks"]) and eph["blocks"][-1]["elements"][0]["action_id"] == "undo"
    )


def test_form_errors_are_shown_inline_and_nothing_is_written(bot: Bot) -> None:
    ids = _seed(bot)
    values = _form_values(ids["Initech"], day="2026-11-21", note="  ")
    response = bot.send.view_submission(CallbackId.LOG_MODAL, values, view_id="VLOG2").json()
    assert response["response_action"] == "errors"
    assert set(response["errors"]) == {B_DATE, B_NOTE}
    assert "future" in response["errors"][B_DATE]
    assert _touchpoints(bot, live_only=False) == []


def test_message_shortcut_prefills_the_form_and_keeps_the_permalink(bot: Bot) -> None:
    ids = _seed(bot)
    ts = bot.fake.add_message("CGENERAL", "We are evaluating other vendors before renewal.", user="UOUT1")
    response = bot.send.message_shortcut(
        CallbackId.LOG_AS_TOUCHPOINT,
        {
            "type": "message",
            "ts": ts,
            "user": "UOUT1",
            "text": "We are evaluating other vendors before renewal.",
        },
    )
    assert response.status_code == 200
    assert bot.fake.wait_for(lambda: bot.fake.calls_to("views.open"))
    opened = bot.fake.calls_to("views.open")
    assert len(opened) == 1
    view = opened[0].args["view"]
    by_block = {b["block_id"]: b for b in view["blocks"] if "block_id" in b}
    assert by_block[B_NOTE]["element"]["initial_value"] == "We are evaluating other vendors before renewal."
    permalink = bot.fake.calls_to("chat.getPermalink")[0].response["permalink"]
    assert permalink in json.dumps(view["blocks"])
    values = _form_values(ids["Umbrella"], type_="email", note=by_block[B_NOTE]["element"]["initial_value"])
    bot.send.view_submission(
        CallbackId.LOG_MODAL, values, private_metadata=view["private_metadata"], view_id="V9"
    )
    assert bot.fake.wait_for(lambda: bot.fake.calls_to("chat.postEphemeral"))
    (tp,) = _touchpoints(bot)
    assert (tp.account_id, tp.type, tp.permalink) == (ids["Umbrella"], "email", permalink)
    assert tp.note == "We are evaluating other vendors before renewal."


def test_account_card_shows_arr_renewal_touchpoints_and_open_escalations(bot: Bot) -> None:
    ids = _seed(bot)
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        for i in range(7):
            s.add(
                Touchpoint(
                    account_id=ids["Acme Corp"],
                    author_slack_id="UCSM2",
                    type="call",
                    occurred_at=now - timedelta(days=i + 1),
                    note=f"touch {i}",
                    sentiment=(i % 3) - 1,
                    created_at=now,
                )
            )
        for status in ("open", "acknowledged", "resolved"):
            s.add(
                Escalation(
                    account_id=ids["Acme Corp"],
                    severity="sev2",
                    summary="x",
                    owner_slack_id="UCSM1",
                    opened_by="UCSM1",
                    status=status,
                    opened_at=now,
                )
            )
    answer = bot.send.command("account acme corp").json()
    shown = _texts(answer["blocks"])
    assert answer["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Acme Corp"}}
    assert "$100,000" in shown and "enterprise" in shown and "<@UCSM1>" in shown
    assert "30 Jan 2027 (71 days left)" in shown
    assert "*Open escalations*\n2" in shown
    assert all(f"touch {i}" in shown for i in range(5)) and "touch 5" not in shown
    assert "Last 5 touchpoints" in shown and "by <@UCSM2>" in shown and "Thu 19 Nov 2026" in shown


def test_account_with_unknown_name_says_so(bot: Bot) -> None:
    _seed(bot)
    answer = bot.send.command("account Nonesuch Ltd").json()
    assert answer["text"].startswith("No account named “Nonesuch Ltd”.")


def test_help_log_explains_the_grammar_with_three_examples(bot: Bot) -> None:
    text = bot.send.command("help log").json()["text"]
    assert text.count("`/cs log ") >= 4  # the form and three examples
    for word in ("yesterday", "11/20", "3d", "#tags", "`+` positive", "Undo"):
        assert word in text


def test_account_with_several_matches_offers_buttons_that_open_the_card(bot: Bot) -> None:
    _seed(bot)
    answer = bot.send.command("account acme").json()
    buttons = answer["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Acme Corp", "Acme Robotics"]
    bot.send.block_action(buttons[1]["action_id"], value=buttons[1]["value"])
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    card = bot.fake.responses[0].body
    assert card["replace_original"] is True and card["response_type"] == "ephemeral"
    assert card["blocks"][0]["text"]["text"] == "Acme Robotics"
    assert "$200,000" in _texts(card["blocks"])


def test_share_posts_the_card_to_the_channel_without_a_share_button(bot: Bot) -> None:
    _seed(bot)
    card = bot.send.command("account Initech").json()
    share = card["blocks"][-1]["elements"][0]
    assert share["action_id"] == ActionId.ACCOUNT_SHARE
    bot.send.block_action(share["action_id"], value=share["value"], user_id="UCSM2")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    shared = bot.fake.responses[0].body
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert shared["blocks"][0]["text"]["text"] == "Initech"
    assert "Shared by <@UCSM2>" in _texts(shared["blocks"])
    assert ActionId.ACCOUNT_SHARE not in json.dumps(shared["blocks"])


def test_other_features_add_sections_to_the_card(bot: Bot) -> None:
    from bot.accounts.card import CARD_SECTIONS, add_card_section

    _seed(bot)

    def health(session, card, tz, today):  # type: ignore[no-untyped-def]
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"*Health* 42 for {card.name}"}}]

    add_card_section(health)
    try:
        card = bot.send.command("account Umbrella").json()
    finally:
        CARD_SECTIONS.remove(health)
    assert card["blocks"][1]["text"]["text"] == "*Health* 42 for Umbrella"


def test_slack_escaping_and_channel_links_read_as_typed(bot: Bot) -> None:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        s.add(Account(name="O'Reilly & Sons", arr_cents=1, created_at=now, updated_at=now))
    bot.deps.accounts.invalidate()
    # What Slack sends for: O'Reilly & Sons call asked <@UCSM2> about #renewal +
    answer = bot.send.command(
        "log O'Reilly &amp; Sons call asked <@UCSM2|robin> about <#C0RENEW|renewal> +"
    ).json()
    (tp,) = _touchpoints(bot)
    assert tp.note == "asked <@UCSM2|robin> about" and tp.tags == ["renewal"]
    shown = _texts(answer["blocks"])
    assert "O'Reilly &amp; Sons" in shown and "asked <@UCSM2|robin> about" in shown


def test_dates_are_the_users_own_at_midnight(bot: Bot) -> None:
    ids = _seed(bot)
    bot.clock.set(datetime(2026, 11, 21, 4, 30, tzinfo=UTC))  # Fri 23:30 in New York, Sat 05:30 in Paris
    ny = bot.send.command("log Initech call 2026-11-21 kickoff", user_id="UCSM1").json()
    assert "`2026-11-21` is in the future (today is Fri 2026-11-20 in your time zone)" in ny["text"]
    paris = bot.send.command("log Initech call 2026-11-21 kickoff", user_id="UCSM2").json()
    assert "Sat 21 Nov 2026" in _texts(paris["blocks"])
    today_ny = bot.send.command("log Initech call today late call", user_id="UCSM1").json()
    assert "Fri 20 Nov 2026" in _texts(today_ny["blocks"])
    rows = _touchpoints(bot)
    assert [(t.author_slack_id, t.account_id) for t in rows] == [
        ("UCSM2", ids["Initech"]),
        ("UCSM1", ids["Initech"]),
    ]
    assert rows[1].occurred_at == bot.clock.now()


def test_ambiguous_name_with_a_note_too_long_for_a_button_says_so(bot: Bot) -> None:
    _seed(bot)
    tags = " ".join(f"#{i}{'t' * 38}" for i in range(10))
    answer = bot.send.command("log acme call " + '"' * 900 + " " + tags).json()
    assert "matches 2 accounts, and the note is too long" in answer["text"]
    assert "blocks" not in answer or all(b["type"] != "actions" for b in answer["blocks"])
    assert _touchpoints(bot, live_only=False) == []
