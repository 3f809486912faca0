"""`/cs risk team` by someone nobody reports to (an admin, a director before the
team is set up): not a false all-clear, but a word on why and the whole portfolio."""

from __future__ import annotations

from models.db import session_scope
from models.tables import Escalation, Member, NpsResponse
from tests.harness import Bot
from tests.test_health_commands import answer, seed

NOTE = (
    "Nobody reports to you yet — `/cs team add @csm csm manager <@UDIR1>` sets that up; "
    "showing the whole portfolio."
)


def _make_at_risk(bot: Bot, account_id: int) -> None:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        s.add(NpsResponse(account_id=account_id, responded_at=now, score=0, created_at=now))
        s.add(
            Escalation(
                account_id=account_id,
                severity="sev2",
                summary="slow",
                owner_slack_id="UCSM2",
                opened_by="UCSM2",
                opened_at=now,
            )
        )


def test_an_empty_team_says_so_and_shows_the_portfolio(bot: Bot) -> None:
    ids = seed(bot)
    _make_at_risk(bot, ids["Route 66"])
    reply = answer(bot, "risk team", user="UDIR1")
    assert reply["text"].startswith(NOTE)
    assert reply["blocks"][0]["elements"][0]["text"] == NOTE
    assert reply["blocks"][1]["text"]["text"].startswith("*1 at-risk account in all accounts")
    assert reply["blocks"][2]["text"]["text"].split("*")[1] == "Route 66"
    assert ":tada:" not in reply["text"]


def test_with_a_report_the_team_is_the_team(bot: Bot) -> None:
    ids = seed(bot)
    _make_at_risk(bot, ids["Route 66"])
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        s.add(Member(slack_id="UCSM1", role="csm", manager_slack_id="UDIR1", created_at=now, updated_at=now))
    reply = answer(bot, "risk team", user="UDIR1")
    assert reply["text"] == "No at-risk accounts in your team's accounts right now. :tada:"
    assert "Nobody reports to you" not in reply["text"]
