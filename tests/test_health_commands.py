"""`/cs nps`, `/cs renewal`, `/cs upsell`, `/cs team`, `/cs risk` over signed
HTTP: roles, confirmations with Undo, nothing written on refusal or bad input,
and risk computed live from the data as it stands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.slack.action_ids import ActionId
from models.db import session_scope
from models.tables import (
    Account,
    AuditLog,
    Escalation,
    Expansion,
    Member,
    NpsResponse,
    RenewalEvent,
    Touchpoint,
)
from tests.harness import Bot


def seed(bot: Bot) -> dict[str, int]:
    now = bot.clock.now()
    ids = {}
    with session_scope(bot.engine) as s:
        for name, csm, arr in (
            ("Acme Corp", "UCSM1", 500_000),
            ("Route 66", "UCSM2", 80_000),
            ("Globex", "UCSM2", 1),
        ):
            a = Account(name=name, csm_slack_id=csm, arr_cents=arr * 100, created_at=now, updated_at=now)
            s.add(a)
            s.flush()
            ids[name] = a.id
    bot.deps.accounts.invalidate()
    return ids


def answer(bot: Bot, text: str, user: str = "UCSM1") -> dict[str, Any]:
    response = bot.send.command(text, user_id=user)
    assert response.status_code == 200
    return response.json()


def undo_value(reply: dict[str, Any]) -> str:
    actions = [b for b in reply["blocks"] if b["type"] == "actions"][0]
    button = actions["elements"][0]
    assert (button["action_id"], button["text"]["text"]) == (ActionId.UNDO, "Undo")
    return button["value"]


def test_nps_is_recorded_with_undo_and_shows_health_at_once(bot: Bot) -> None:
    ids = seed(bot)
    reply = answer(bot, "nps acme corp 3 too many bugs", user="UOUT1")  # anyone may record NPS
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"] == (
        ":white_check_mark: Recorded NPS *3* (detractor) for *Acme Corp*: “too many bugs”"
    )
    # NPS 0 (weight 20) and no open escalations (weight 15): 43, yellow; not at risk
    assert reply["blocks"][1]["elements"][0]["text"] == "Health now *43* (yellow)"
    with session_scope(bot.engine) as s:
        row = s.exec(select(NpsResponse)).one()
        assert (row.account_id, row.score, row.comment, row.recorded_by) == (
            ids["Acme Corp"],
            3,
            "too many bugs",
            "UOUT1",
        )
    value = undo_value(reply)
    assert json.loads(value) == {"kind": "nps", "id": row.id}
    bot.send.block_action(ActionId.UNDO, value=value, user_id="UOUT1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert (
        bot.fake.responses[0].body["text"]
        == ":leftwards_arrow_with_hook: Undone: the NPS response was removed."
    )
    with session_scope(bot.engine) as s:
        assert s.exec(select(NpsResponse)).one().deleted_at == bot.clock.now()


def test_a_csm_who_records_nps_3_sees_the_account_at_risk_at_once(bot: Bot) -> None:
    ids = seed(bot)
    with session_scope(bot.engine) as s:
        s.add(
            Touchpoint(
                account_id=ids["Acme Corp"],
                author_slack_id="UCSM1",
                type="call",
                occurred_at=bot.clock.now() - timedelta(days=45),
                sentiment=-1,
                created_at=bot.clock.now(),
            )
        )
    assert answer(bot, "risk mine")["text"] == "No at-risk accounts in your accounts right now. :tada:"
    reply = answer(bot, "nps Acme Corp 3")
    assert "at risk: score 31 is red (below 40); NPS 3 on 11-20; no touchpoint in 45 days" in reply["text"]
    risk = answer(bot, "risk mine")
    assert (
        risk["blocks"][0]["text"]["text"] == "*1 at-risk account in your accounts ($500k ARR), worst first*"
    )
    assert risk["blocks"][1]["text"]["text"] == (
        "*Acme Corp* · :red_circle: 31 red · $500k ARR · <@UCSM1>\n"
        "• score 31 is red (below 40)\n"
        "• NPS 3 on 11-20\n"
        "• no touchpoint in 45 days\n"
        "• last touchpoint: negative"
    )
    # UCSM2's book is not UCSM1's
    assert answer(bot, "risk mine", user="UCSM2")["text"].startswith("No at-risk accounts")


def test_risk_team_reads_the_managers(bot: Bot) -> None:
    ids = seed(bot)
    with session_scope(bot.engine) as s:
        s.add(
            Member(
                slack_id="UCSM2",
                role="csm",
                manager_slack_id="UDIR1",
                created_at=bot.clock.now(),
                updated_at=bot.clock.now(),
            )
        )
        for name in ("Route 66", "Acme Corp"):
            s.add(
                NpsResponse(
                    account_id=ids[name], responded_at=bot.clock.now(), score=0, created_at=bot.clock.now()
                )
            )
            s.add(  # with NPS 0, an open sev2 makes it 21: red
                Escalation(
                    account_id=ids[name],
                    severity="sev2",
                    summary="slow",
                    owner_slack_id="UCSM2",
                    opened_by="UCSM2",
                    opened_at=bot.clock.now(),
                )
            )
    team = answer(bot, "risk team", user="UDIR1")
    assert [b["text"]["text"].split("*")[1] for b in team["blocks"][1:]] == ["Route 66"]
    everyone = answer(bot, "risk", user="UDIR1")  # not a CSM: the whole portfolio, worst first by ARR
    assert [b["text"]["text"].split("*")[1] for b in everyone["blocks"][1:]] == ["Acme Corp", "Route 66"]
    assert answer(bot, "risk theirs")["text"].startswith(
        "Use `/cs risk`, `/cs risk mine` or `/cs risk team`."
    )


@pytest.mark.parametrize(
    ("command", "expected", "amount", "arr", "renewal"),
    [
        (
            "renewal Acme Corp renewed $120k",
            ":white_check_mark: Recorded: *Acme Corp* renewed at *$120,000* ARR (was $500,000: −$380,000)."
            " Next renewal *2027-11-20*.",
            12_000_000,
            12_000_000,
            date(2027, 11, 20),
        ),
        (
            "renewal acme corp downgraded 100k",
            ":white_check_mark: Recorded: *Acme Corp* downgraded by *$100,000*: ARR now *$400,000*"
            " (was $500,000). Next renewal *2027-11-20*.",
            10_000_000,
            40_000_000,
            date(2027, 11, 20),
        ),
        (
            "renewal Acme Corp churned 120,000",
            ":white_check_mark: Recorded: *Acme Corp* churned: *$500,000* ARR lost. It leaves the live"
            " portfolio (alerts, coverage, renewals) and keeps its history. You typed $120,000; the churn"
            " recorded is the whole ARR, $500,000.",
            50_000_000,
            0,
            None,
        ),
    ],
)
def test_renewal_by_the_accounts_csm_is_recorded_in_cents_with_undo(
    bot: Bot, command: str, expected: str, amount: int, arr: int, renewal: date | None
) -> None:
    seed(bot)
    reply = answer(bot, command, user="UCSM1")
    assert reply["text"] == expected
    with session_scope(bot.engine) as s:
        row = s.exec(select(RenewalEvent)).one()
        assert (row.amount_cents, row.arr_due_cents, row.due_date) == (amount, 50_000_000, date(2026, 11, 20))
        account = s.get(Account, row.account_id)
        assert (account.arr_cents, account.renewal_date) == (arr, renewal)  # type: ignore[union-attr]
        assert json.loads(undo_value(reply)) == {"kind": "renewal", "id": row.id}
        assert (
            s.exec(select(AuditLog).where(AuditLog.action == "renewal.create")).one().actor_slack_id
            == "UCSM1"
        )


def test_upsell_by_a_director_with_a_note_and_an_account_name_holding_a_number(bot: Bot) -> None:
    ids = seed(bot)
    with session_scope(bot.engine) as s:
        s.add(
            Member(slack_id="UDIR1", role="director", created_at=bot.clock.now(), updated_at=bot.clock.now())
        )
    reply = answer(bot, "upsell Route 66 $24k 20 more seats", user="UDIR1")
    assert (
        reply["text"] == ":white_check_mark: Recorded an up-sell of *$24,000* for *Route 66*: 20 more seats."
        " ARR now *$104,000*."
    )
    with session_scope(bot.engine) as s:
        row = s.exec(select(Expansion)).one()
        assert (row.account_id, row.amount_cents, row.note) == (ids["Route 66"], 2_400_000, "20 more seats")
    assert json.loads(undo_value(reply))["kind"] == "upsell"


@pytest.mark.parametrize(
    ("command", "user", "expected"),
    [
        (
            "upsell Acme Corp $10k",
            "UCSM2",
            "Only Acme Corp's CSM (<@UCSM1>), a *director* or an *admin* can record an up-sell; "
            "you are not in the team list (`/cs team list`). Nothing was recorded.",
        ),
        (
            "renewal Acme Corp renewed 10k",
            "UEXEC1",
            "Only Acme Corp's CSM (<@UCSM1>), a *director* or an *admin* can record a renewal; "
            "your role is *exec*. Nothing was recorded.",
        ),
        ("renewal Acme Corp extended 10k", "UCSM1", "Give the account and the outcome"),
        ("renewal Acme Corp downgraded", "UCSM1", "Say how much ARR went down by"),
        ("renewal Acme Corp downgraded $600k", "UCSM1", "The downgrade is the whole ARR or more"),
        ("renewal Acme Corp renewed $0", "UCSM1", "A renewal at $0 is a churn: record it as `churned`"),
        ("renewal Acme Corp renewed lots", "UCSM1", "'lots' is not an amount"),
        ("upsell Acme Corp", "UCSM1", "Give the account and the amount"),
        ("upsell Acme Corp $0", "UCSM1", "An up-sell amount must be more than $0."),
        ("upsell Nowhere Inc $5k", "UCSM1", "No account matches “Nowhere Inc”."),
        ("nps Acme Corp 11", "UCSM1", "Give the account and a score from 0 to 10"),
        ("nps Acme Corp", "UCSM1", "Give the account and a score from 0 to 10"),
    ],
)
def test_refusals_and_bad_input_write_nothing(bot: Bot, command: str, user: str, expected: str) -> None:
    seed(bot)
    with session_scope(bot.engine) as s:
        s.add(Member(slack_id="UEXEC1", role="exec", created_at=bot.clock.now(), updated_at=bot.clock.now()))
    reply = answer(bot, command, user=user)
    assert reply["text"].startswith(expected)
    assert reply["response_type"] == "ephemeral"
    with session_scope(bot.engine) as s:
        assert s.exec(select(RenewalEvent)).all() == []
        assert s.exec(select(Expansion)).all() == []
        assert s.exec(select(NpsResponse)).all() == []
        assert s.exec(select(AuditLog)).all() == []


def test_team_add_and_list(bot: Bot) -> None:
    # the CSBOT_ADMINS admin adds a director, who adds a CSM reporting to them
    assert answer(bot, "team add <@UDIR1|dana> director", user="UADMIN")["text"] == (
        ":white_check_mark: Added <@UDIR1> as *director*."
    )
    assert answer(bot, "team add <@UCSM1> csm manager <@UDIR1|dana>", user="UDIR1")["text"] == (
        ":white_check_mark: Added <@UCSM1> as *csm*, reporting to <@UDIR1>."
    )
    assert answer(bot, "team add <@UCSM1> director", user="UADMIN")["text"] == (
        ":white_check_mark: Updated <@UCSM1> as *director*, reporting to <@UDIR1>."
    )
    with session_scope(bot.engine) as s:
        dana = s.get(Member, "UDIR1")
        assert (dana.role, dana.name) == ("director", "dana")  # type: ignore[union-attr]
        casey = s.get(Member, "UCSM1")
        assert (casey.role, casey.manager_slack_id) == ("director", "UDIR1")  # type: ignore[union-attr]
        assert [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id)).all()] == [
            "member.add",
            "member.add",
            "member.update",
        ]
    assert answer(bot, "team list", user="UOUT1")["text"] == (
        "*The team*\n*Directors:* <@UCSM1> (manager <@UDIR1>), <@UDIR1>\n*Admins:* <@UADMIN> (CSBOT_ADMINS)"
    )


@pytest.mark.parametrize(
    ("command", "user", "expected"),
    [
        ("team add <@UCSM2> csm", "UCSM1", "Only a *director* or *admin* can add people to the team"),
        (
            "team add <@UCSM2> admin",
            "UDIR1",
            "Only an *admin* can make someone an admin; your role is *director*",
        ),
        ("team add <@UCSM2> boss", "UADMIN", "“boss” is not a role: use one of csm, director, exec, admin."),
        ("team add casey csm", "UADMIN", "“casey” is not a person"),
        ("team add <@UCSM2> csm boss <@UDIR1>", "UADMIN", "Use `/cs team add @user <role> [manager @user]`."),
        ("team add <@UCSM2> csm manager <@UCSM2>", "UADMIN", "Someone cannot be their own manager."),
        ("team remove <@UCSM2>", "UADMIN", "`/cs team remove` is not a team command."),
    ],
)
def test_team_refusals_write_nothing(bot: Bot, command: str, user: str, expected: str) -> None:
    with session_scope(bot.engine) as s:
        s.add(
            Member(slack_id="UDIR1", role="director", created_at=bot.clock.now(), updated_at=bot.clock.now())
        )
    assert answer(bot, command, user=user)["text"].startswith(expected)
    with session_scope(bot.engine) as s:
        assert [m.slack_id for m in s.exec(select(Member)).all()] == ["UDIR1"]
        assert s.exec(select(AuditLog)).all() == []


def test_a_director_cannot_demote_an_admin(bot: Bot) -> None:
    with session_scope(bot.engine) as s:
        for slack_id, role in (("UDIR1", "director"), ("UCSM2", "admin")):
            s.add(
                Member(slack_id=slack_id, role=role, created_at=bot.clock.now(), updated_at=bot.clock.now())
            )
    reply = answer(bot, "team add <@UCSM2> csm", user="UDIR1")["text"]
    assert reply.startswith("Only an *admin* can change an admin's role; your role is *director*")
    with session_scope(bot.engine) as s:
        assert s.get(Member, "UCSM2").role == "admin"
        assert s.exec(select(AuditLog)).all() == []
    assert answer(bot, "team add <@UCSM2> csm", user="UADMIN")["text"].startswith(":white_check_mark:")
    with session_scope(bot.engine) as s:
        assert s.get(Member, "UCSM2").role == "csm"
