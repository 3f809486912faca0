"""The escalation parent message across updates (PRODUCT.md §5): blocks that carry
inputs get a new block_id on every chat.update (Slack asks for it: clients keep a
stale Reassign selection otherwise), and clicks on either form still find the
escalation."""

from __future__ import annotations

import pytest

from bot.slack.action_ids import ActionId
from tests.escalation_helpers import (
    action_elements,
    click,
    field_value,
    flush,
    open_via_command,
    parent,
    seed_team,
)
from tests.harness import Bot

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(bot: Bot) -> Bot:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    return bot


def _actions_block_id(msg: dict) -> str:
    return next(b["block_id"] for b in msg["blocks"] if b["type"] == "actions")


def test_every_update_carries_a_new_actions_block_id(team: Bot) -> None:
    bot = team
    open_via_command(bot, "Acme Corp sev2 reports empty")
    posted = _actions_block_id(parent(bot))
    assert posted.startswith("esc:1:actions:")
    click(bot, parent(bot), ActionId.ESC_ACK, user_id="UCSM1")
    flush(bot)
    acknowledged = _actions_block_id(parent(bot))
    bot.clock.advance(minutes=3)
    click(bot, parent(bot), ActionId.ESC_REASSIGN, user_id="UCSM1", selected_user="UCSM2")
    flush(bot)
    reassigned = _actions_block_id(parent(bot))
    assert len({posted, acknowledged, reassigned}) == 3
    assert field_value(parent(bot), "Owner") == "<@UCSM2>"
    updates = bot.fake.calls_to("chat.update")
    sent_ids = {
        b["block_id"] for call in updates for b in call.args.get("blocks") or [] if b["type"] == "actions"
    }
    assert {acknowledged, reassigned} <= sent_ids
    # the elements are the same kinds; only the block ids moved on
    assert set(action_elements(parent(bot))) >= {ActionId.ESC_RESOLVE, ActionId.ESC_REASSIGN}


def test_a_click_on_a_message_posted_before_revisions_still_works(team: Bot) -> None:
    """Messages already in Slack carry `esc:N:actions`: their buttons keep working."""
    bot = team
    open_via_command(bot, "Acme Corp sev2 reports empty")
    msg = parent(bot)
    for block in msg["blocks"]:
        if block["type"] == "actions":
            block["block_id"] = "esc:1:actions"
    click(bot, msg, ActionId.ESC_ACK, user_id="UCSM1")
    flush(bot)
    assert "Acknowledged" in field_value(parent(bot), "Status")


def test_the_list_links_each_thread_without_a_call_per_row(team: Bot) -> None:
    """`/cs escalations` answers within the ack budget at any Slack latency: the links
    come from the posted channel and ts and the workspace URL (one auth.test per process)."""
    bot = team
    for text in ("Acme Corp sev2 reports empty", "Globex sev1 SSO down", "Globex sev3 typo on invoice"):
        open_via_command(bot, text)
    stamps = [parent(bot, index)["ts"] for index in range(3)]
    bot.fake.reset()  # forget the calls so far (the messages' ts are kept above)
    first = bot.send.command("escalations all", user_id="UOUT1").json()
    again = bot.send.command("escalations all", user_id="UOUT1").json()
    assert bot.fake.calls_to("chat.getPermalink") == []
    assert len(bot.fake.calls_to("auth.test")) == 1
    for reply in (first, again):
        body = "\n".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
        for ts in stamps:
            assert f"<https://fake.slack.com/archives/CESC/p{ts.replace('.', '')}|thread>" in body
