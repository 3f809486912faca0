"""End to end over signed HTTP (SQLite and PostgreSQL): `/cs upsell`, `/cs renewal
… churned` and Undo change what `csbot metrics --json` prints; `/cs metrics` as a
director shows the figures with their change and a working Share; a CSM sees
their own book only, and asking for another's is refused naming the roles."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from click.testing import CliRunner
from sqlmodel import select

from bot.cli import main
from bot.revenue import ledger
from bot.slack.action_ids import ActionId
from models.db import session_scope
from models.tables import Account, Escalation, Member, NpsResponse
from tests.harness import Bot

AS_OF = "2026-11-20"  # the harness clock: Friday 20 Nov 2026, 10:00 in New York


def _seed(bot: Bot) -> None:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        for slack_id, role in (("UDIR1", "director"), ("UCSM1", "csm"), ("UCSM2", "csm")):
            s.add(Member(slack_id=slack_id, role=role, created_at=now, updated_at=now))
        for name, csm, dollars, renewal in (
            ("Acme", "UCSM1", 100_000, date(2027, 3, 1)),
            ("Beta", "UCSM1", 50_000, date(2026, 11, 15)),  # due this quarter, no outcome yet
            ("Gamma", "UCSM2", 80_000, date(2027, 6, 1)),
        ):
            acc = Account(
                name=name,
                csm_slack_id=csm,
                stage="mature",
                renewal_date=renewal,
                arr_cents=0,
                created_at=datetime(2025, 1, 1, tzinfo=UTC),
                updated_at=now,
            )
            s.add(acc)
            s.flush()
            ledger.apply(s, [ledger.Move(acc.id, "new", dollars * 100, date(2025, 1, 1), "import")], now=now)
            # NPS: a 10 this quarter, a 5 in July (inside last quarter's 90 days, outside this one's)
            s.add(
                NpsResponse(
                    account_id=acc.id,
                    responded_at=datetime(2026, 11, 2, tzinfo=UTC),
                    score=10,
                    created_at=now,
                )
            )
            s.add(
                NpsResponse(
                    account_id=acc.id, responded_at=datetime(2026, 7, 15, tzinfo=UTC), score=5, created_at=now
                )
            )
    bot.deps.accounts.invalidate()


def _cli_json(bot: Bot) -> dict[str, Any]:
    url = bot.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        main,
        ["metrics", "quarter", "--as-of", AS_OF, "--json"],
        env={"DATABASE_URL": url, "CSBOT_TZ": "America/New_York"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["figures"]


def _values(figures: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(figures[n]["value"] for n in names)


def _undo_value(reply: dict[str, Any]) -> str:
    actions = [b for b in reply["blocks"] if b["type"] == "actions"][0]
    return actions["elements"][0]["value"]


NAMES = (
    "arr_cents",
    "upsell_cents",
    "premier_cents",
    "logo_churn",
    "renewal_rate_qtd",
    "nrr_t12m",
    "grr_t12m",
)


def test_upsell_churn_and_undo_change_the_json_figures(bot: Bot) -> None:
    _seed(bot)
    # Before: ARR 230,000; Beta's 50,000 is due (11-15), no outcome yet -> renewal rate 1.0
    assert _values(_cli_json(bot), *NAMES) == (23_000_000, 0, 0, 0.0, 1.0, 1.0, 1.0)

    up = bot.send.command("upsell Acme $20k #premier 20 more seats", user_id="UCSM1").json()
    assert up["text"].startswith(
        ":white_check_mark: Recorded an up-sell of *$20,000* for *Acme* (#premier: Premier Support & Success)"
    )
    after_upsell = _cli_json(bot)
    # ARR 250,000; NRR 250/230; GRR capped at 1.0
    assert _values(after_upsell, *NAMES) == (25_000_000, 2_000_000, 2_000_000, 0.0, 1.0, 250 / 230, 1.0)

    churn = bot.send.command("renewal Beta churned", user_id="UCSM1").json()
    assert churn["text"].startswith(":white_check_mark: Recorded: *Beta* churned: *$50,000* ARR lost.")
    # ARR 200,000; logo churn 1 of 3; renewal rate (50,000 − 50,000) / 50,000 = 0; NRR 200/230, GRR 180/230
    assert _values(_cli_json(bot), *NAMES) == (
        20_000_000,
        2_000_000,
        2_000_000,
        1 / 3,
        0.0,
        200 / 230,
        180 / 230,
    )

    bot.send.block_action(ActionId.UNDO, value=_undo_value(churn), user_id="UCSM1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert "Undone" in bot.fake.responses[0].body["text"]
    assert _values(_cli_json(bot), *NAMES) == _values(after_upsell, *NAMES)
    with session_scope(bot.engine) as s:
        beta = s.exec(select(Account).where(Account.name == "Beta")).one()
        assert (beta.arr_cents, beta.stage, beta.renewal_date) == (5_000_000, "mature", date(2026, 11, 15))


def _fields(reply: dict[str, Any]) -> dict[str, str]:
    out = {}
    for block in reply["blocks"]:
        for field in block.get("fields", []):
            label, _, rest = field["text"].partition("\n")
            out[label.strip("*")] = rest
    return out


def test_metrics_for_a_director_with_changes_and_share(bot: Bot) -> None:
    _seed(bot)
    bot.send.command("upsell Acme $20k #premier", user_id="UCSM1")
    reply = bot.send.command("metrics quarter", user_id="UDIR1").json()
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"] == "Metrics · 2026 Q4"
    fields = _fields(reply)
    assert fields["Gross revenue retention (12 months)"] == "100.0 %  ="
    assert fields["Net revenue retention (12 months)"] == "108.7 %  ▲ 8.7 pts"
    assert fields["Up-sell"] == "$20,000  ▲ $20,000"
    assert fields["Premier Support & Success sold"] == "$20,000  ▲ $20,000"
    assert fields["NPS (90 days)"] == "+100.0  ▲ 200.0"  # three 10s now; three 5s (−100) in Q3
    assert fields["Cost / ARR"] == "n/a — the team's cost is not set (CSBOT_TEAM_COST)"
    assert fields["ARR"] == "$250,000  ▲ $20,000"
    share = [b for b in reply["blocks"] if b["type"] == "actions"][0]["elements"][0]
    assert (share["action_id"], share["text"]["text"]) == (ActionId.METRICS_SHARE, "Share in channel")

    bot.send.block_action(ActionId.METRICS_SHARE, value=share["value"], user_id="UDIR1")
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    posted = bot.fake.responses[0].body
    assert posted["response_type"] == "in_channel"
    assert _fields(posted) == fields
    assert posted["blocks"][-1]["elements"][0]["text"] == "Shared by <@UDIR1>"
    assert not [b for b in posted["blocks"] if b["type"] == "actions"]  # a shared copy has no button


def test_a_csm_sees_their_own_book_and_is_refused_anothers(bot: Bot) -> None:
    _seed(bot)
    mine = bot.send.command("metrics quarter", user_id="UCSM2").json()
    assert _fields(mine)["ARR"] == "$80,000  ="
    assert "<@UCSM2>" in mine["blocks"][1]["elements"][0]["text"]
    assert "<@UCSM1>" not in json.dumps(mine["blocks"])
    for ask, whose in (
        ("metrics quarter <@UCSM1|casey>", "<@UCSM1>'s book"),
        ("metrics Enterprise", "the Enterprise segment"),
    ):
        refused = bot.send.command(ask, user_id="UCSM2").json()
        assert refused["response_type"] == "ephemeral"
        assert refused["text"] == (
            f"Only a *director*, an *exec* or an *admin* can see {whose}; your role is *csm*, "
            "so `/cs metrics` shows your own book."
        )
    # a director may ask for one CSM's book
    theirs = bot.send.command("metrics quarter <@UCSM1|casey>", user_id="UDIR1").json()
    assert _fields(theirs)["ARR"] == "$150,000  ="


def test_csbot_metrics_prints_a_table_and_refuses_a_bad_date(bot: Bot) -> None:
    _seed(bot)
    url = bot.engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "CSBOT_TZ": "America/New_York", "CSBOT_TEAM_COST": "46000"}
    out = CliRunner().invoke(main, ["metrics", "quarter", "--as-of", AS_OF, "--segment", "none"], env=env)
    assert out.exit_code == 0
    assert (
        out.output.splitlines()[0] == "2026 Q4 · 2026-10-01 to 2026-11-20 (America/New_York) · segment none"
    )
    table = (
        CliRunner().invoke(main, ["metrics", "quarter", "--as-of", AS_OF, "--csm", "UCSM1"], env=env).output
    )
    assert "ARR" in table and "$150,000" in table
    assert "Cost / ARR" in table and "30.7 %" in table  # 46,000 / 150,000
    assert "n/a — no NPS responses" not in table
    assert "Renewals due without an outcome yet: Beta (2026-11-15)".lower() in table.lower()
    assert "UCSM1" in table.splitlines()[-1]
    bad = CliRunner().invoke(main, ["metrics", "--as-of", "20/11/2026"], env=env)
    assert bad.exit_code == 2
    assert "--as-of '20/11/2026' is not a date: use YYYY-MM-DD" in bad.output


def test_a_churned_account_leaves_cs_risk_and_the_live_figures(bot: Bot) -> None:
    _seed(bot)
    with session_scope(bot.engine) as s:
        beta = s.exec(select(Account).where(Account.name == "Beta")).one()
        s.add(
            NpsResponse(account_id=beta.id, responded_at=bot.clock.now(), score=0, created_at=bot.clock.now())
        )
        s.add(  # NPS 0 and an open sev2: red, at risk
            Escalation(
                account_id=beta.id,
                severity="sev2",
                summary="slow",
                owner_slack_id="UCSM1",
                opened_by="UCSM1",
                opened_at=bot.clock.now(),
            )
        )
    risk = bot.send.command("risk", user_id="UDIR1").json()
    assert "*Beta*" in json.dumps(risk["blocks"])
    bot.send.command("renewal Beta churned", user_id="UCSM1")
    risk = bot.send.command("risk", user_id="UDIR1").json()
    assert "*Beta*" not in json.dumps(risk["blocks"])
    figures = _cli_json(bot)
    # live now: Acme and Gamma; Beta's renewal no longer counts as ahead or past due
    assert figures["coverage"]["value"] == 0.0
    assert figures["arr_cents"]["value"] == 18_000_000
    url = bot.engine.url.render_as_string(hide_password=False)
    table = (
        CliRunner()
        .invoke(
            main,
            ["metrics", "quarter", "--as-of", AS_OF],
            env={"DATABASE_URL": url, "CSBOT_TZ": "America/New_York"},
        )
        .output
    )
    assert "no outcome yet" not in table
    assert [line.split()[:2] for line in table.splitlines()[-2:]] == [
        ["UCSM1", "1"],
        ["UCSM2", "1"],
    ]  # one live account each, biggest book first


def test_a_typed_segment_and_imported_names_are_escaped(bot: Bot) -> None:
    _seed(bot)
    with session_scope(bot.engine) as s:
        beta = s.exec(select(Account).where(Account.name == "Beta")).one()
        beta.name, beta.segment = "<!channel> & co", "<!here>"
        s.add(beta)
    reply = bot.send.command("metrics quarter <!here>", user_id="UDIR1").json()
    shown = json.dumps([b for b in reply["blocks"] if b["type"] != "actions"])  # not a button value
    assert "segment &lt;!here&gt;" in shown
    assert "&lt;!channel&gt; &amp; co (Nov 15)" in shown  # past due, no outcome
    assert "<!" not in shown


def test_bad_metrics_asks_get_one_line_and_the_right_form(bot: Bot) -> None:
    _seed(bot)
    long = bot.send.command("metrics week " + "x" * 120, user_id="UDIR1").json()
    assert long["text"].startswith("No segment has a name that long (120 characters).")
    assert "`/cs metrics [week|month|quarter] [segment|@csm]`" in long["text"]
    two = bot.send.command("metrics week <@UCSM1> <@UCSM2>", user_id="UDIR1").json()
    assert two["text"].startswith("Give a period, then a segment or one @CSM.")
