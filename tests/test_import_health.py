"""`csbot import usage|nps` (PRODUCT.md §3.1) on both databases: accounts by
name or external_id, upsert, all or nothing with every bad row listed; the
bad CSBOT_SCORECARD line at start-up."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session, select

from bot.accounts.csv_import import ImportRejected
from bot.accounts.health_import import import_nps, import_usage
from bot.cli import main
from bot.clock import ManualClock
from models.db import make_engine
from models.tables import Account, AuditLog, NpsResponse, UsageSnapshot
from tests.harness import BOT_TOKEN, START


def accounts(session: Session) -> dict[str, int]:
    for name, ext in (("Acme Corp", "SF-1"), ("Globex", None)):
        session.add(Account(name=name, external_id=ext, arr_cents=1, created_at=START, updated_at=START))
    session.commit()
    return {a.name: a.id for a in session.exec(select(Account)).all()}  # type: ignore[misc]


USAGE = """date,account,active_users,licensed_users,feature_adoption_pct
2026-11-01,SF-1,40,50,35.5
2026-11-01,Globex,"1,200","2,000",
2026-11-02,Acme Corp,41,50,36
"""


def test_usage_import_upserts_by_account_and_date(session: Session) -> None:
    ids = accounts(session)
    clock = ManualClock(START)
    result = import_usage(session, io.StringIO(USAGE), clock)
    session.commit()
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    rows = {(r.account_id, r.date): r for r in session.exec(select(UsageSnapshot)).all()}
    acme = rows[(ids["Acme Corp"], date(2026, 11, 1))]
    assert (acme.active_users, acme.licensed_users, acme.feature_adoption_pct) == (40, 50, 35.5)
    assert rows[(ids["Globex"], date(2026, 11, 1))].licensed_users == 2000
    again = import_usage(session, io.StringIO(USAGE.replace("41,50,36", "45,50,36")), clock)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert session.exec(select(UsageSnapshot).where(UsageSnapshot.active_users == 45)).one().date == date(
        2026, 11, 2
    )
    assert [a.action for a in session.exec(select(AuditLog)).all()] == ["usage.import", "usage.import"]


def test_usage_import_lists_every_bad_row_and_writes_nothing(session: Session) -> None:
    accounts(session)
    bad = (
        "account,date,active_users,licensed_users,feature_adoption_pct\n"
        "Acme Corp,2026-11-01,40,50,\n"
        "Nowhere,2026-11-01,1,2,\n"
        "Globex,2026-11-31,1,2,\n"
        "Globex,2026-11-02,-1,many,\n"
        "Globex,2026-12-01,1,2,\n"
        "Globex,2026-11-03,1,2,140\n"
        "SF-1,2026-11-01,40,50,\n"
    )
    with pytest.raises(ImportRejected) as caught:
        import_usage(session, io.StringIO(bad), ManualClock(START))
    assert [str(e) for e in caught.value.errors] == [
        "line 3: no account has the name or external_id 'Nowhere' (import accounts first)",
        "line 4: date '2026-11-31' is not a date in YYYY-MM-DD form",
        "line 5: active_users '-1' is not a whole number of 0 or more; "
        "licensed_users 'many' is not a whole number of 0 or more",
        "line 6: date 2026-12-01 is in the future",
        "line 7: feature_adoption_pct '140' is not a percentage 0-100",
        "line 8: SF-1 on 2026-11-01 already appears on line 2",
    ]
    session.rollback()
    assert session.exec(select(UsageSnapshot)).all() == []
    with pytest.raises(ImportRejected) as caught:
        import_usage(
            session, io.StringIO("account,date,active_users\nAcme Corp,2026-11-01,1\n"), ManualClock(START)
        )
    assert [str(e) for e in caught.value.errors] == [
        "line 1: missing required column(s): licensed_users; the columns read were 'account', 'date', "
        "'active_users' (--help lists every column and its other names)"
    ]


NPS = """account,date,score,respondent,comment
SF-1,2026-11-02,4,jane@acme,"slow support, again"
Globex,2026-11-03,10,,love it
"""


def test_nps_import_upserts_and_feeds_the_health_reasons(session: Session) -> None:
    ids = accounts(session)
    clock = ManualClock(START)
    result = import_nps(session, io.StringIO(NPS), clock)
    session.commit()
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    jane = session.exec(select(NpsResponse).where(NpsResponse.account_id == ids["Acme Corp"])).one()
    assert (jane.score, jane.respondent, jane.comment) == (4, "jane@acme", "slow support, again")
    assert jane.responded_at == datetime(2026, 11, 2, tzinfo=UTC)
    again = import_nps(session, io.StringIO(NPS.replace(",10,,love it", ",9,,love it")), clock)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)

    from bot.health.evaluation import evaluate

    health = {h.account.name: h for h in evaluate(session, clock.now())}
    assert "NPS 4 from jane@acme on 11-02" in [r.text for r in health["Acme Corp"].health.reasons]


def test_nps_import_rejects_bad_scores(session: Session) -> None:
    accounts(session)
    bad = "account,date,score\nGlobex,2026-11-01,11\nGlobex,2026-11-01,\nGlobex,,7\n"
    with pytest.raises(ImportRejected) as caught:
        import_nps(session, io.StringIO(bad), ManualClock(START))
    assert [str(e) for e in caught.value.errors] == [
        "line 2: score '11' is not a whole number from 0 to 10",
        "line 3: score is empty",
        "line 4: date is empty",
    ]
    session.rollback()
    assert session.exec(select(NpsResponse)).all() == []


def invoke(args: list[str], env: dict[str, str]) -> object:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_cli_import_usage_and_nps(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        accounts(session)
    usage_csv = tmp_path / "usage.csv"
    usage_csv.write_text(USAGE.replace("2026-11-02", "2026-01-02"))  # any past date
    first = invoke(["import", "usage", str(usage_csv)], {"DATABASE_URL": db_url})
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    assert "Imported usage.csv: 3 created, 0 updated, 0 unchanged." in first.output  # type: ignore[attr-defined]
    nps_csv = tmp_path / "nps.csv"
    nps_csv.write_text(NPS + "Initech,2026-11-04,3,,\n")
    rejected = invoke(["import", "nps", str(nps_csv)], {"DATABASE_URL": db_url})
    assert rejected.exit_code == 1  # type: ignore[attr-defined]
    assert "Rejected nps.csv: 1 bad row(s); nothing was written." in rejected.output  # type: ignore[attr-defined]
    assert "line 4: no account has the name or external_id 'Initech'" in rejected.output  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from npsresponse")).scalar_one() == 0
        assert conn.execute(text("select count(*) from usagesnapshot")).scalar_one() == 3
    engine.dispose()


def test_a_bad_scorecard_stops_csbot_run_with_one_line(db_url: str, tmp_path: Path) -> None:
    card = tmp_path / "card.toml"
    card.write_text("[measures.nps]\nweight = -1\n")
    env = {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "abcdefgh1234",
        "CSBOT_SCORECARD": str(card),
    }
    result = invoke(["run"], env)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.output == (  # type: ignore[attr-defined]
        "csbot: CSBOT_SCORECARD card.toml: measures.nps.weight must not be negative (-1)\n"
    )
