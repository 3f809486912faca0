"""`csbot import accounts` (PRODUCT.md §3.1) on both databases."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlmodel import Session, select

from bot.accounts.csv_import import ImportRejected
from bot.accounts.importer import import_accounts
from bot.clock import ManualClock
from models.tables import Account, AuditLog
from tests.harness import START

GOOD = """name,arr,external_id,segment,csm,renewal_date,contract_start,stage,licensed_users
Acme Corp,"120,000.50",SF-001,enterprise,U0CSM1,2027-01-15,2024-01-15,mature,50
Globex,80000,SF-002,mid-market,robin@example.com,2026-12-31,,adopting,
Initech,$5k,,smb,,,,onboarding,10
"""


def resolver(email: str) -> str | None:
    return {"robin@example.com": "UCSM2"}.get(email)


def run(session: Session, text: str) -> object:
    return import_accounts(session, io.StringIO(text), ManualClock(START), resolve_email=resolver)


def test_good_file_creates_accounts_with_cents_and_resolved_csm(session: Session) -> None:
    result = run(session, GOOD)
    session.commit()
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    assert accounts["Acme Corp"].arr_cents == 12_000_050
    assert accounts["Acme Corp"].renewal_date == date(2027, 1, 15)
    assert accounts["Acme Corp"].licensed_users == 50
    assert accounts["Globex"].csm_slack_id == "UCSM2"
    assert accounts["Initech"].arr_cents == 500_000
    assert accounts["Initech"].external_id is None
    audit = session.exec(select(AuditLog)).one()
    assert audit.action == "account.import"
    assert audit.detail == {"created": 3, "updated": 0, "unchanged": 0}


def test_reimport_is_unchanged_and_edits_are_updates(session: Session) -> None:
    run(session, GOOD)
    session.commit()
    again = run(session, GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    edited = GOOD.replace("80000,SF-002", "90000,SF-002").replace("Initech,$5k", "Initech,$6k")
    third = run(session, edited)
    session.commit()
    assert (third.created, third.updated, third.unchanged) == (0, 2, 1)
    assert session.exec(select(Account).where(Account.name == "Globex")).one().arr_cents == 9_000_000


def test_rename_by_external_id_updates_not_creates(session: Session) -> None:
    run(session, GOOD)
    session.commit()
    result = run(session, "name,arr,external_id\nAcme Corporation,120000.50,SF-001\n")
    session.commit()
    assert (result.created, result.updated) == (0, 1)
    assert (
        session.exec(select(Account).where(Account.external_id == "SF-001")).one().name == "Acme Corporation"
    )


def test_bad_file_lists_every_bad_row_and_writes_nothing(session: Session) -> None:
    bad = (
        "arr,name,stage,csm,renewal_date\n"  # any column order
        "1000,Good One,mature,,\n"
        "lots,Bad Arr,mature,,\n"
        "2000,Bad Stage,sleeping,,\n"
        "3000,Bad Date,,,2026-13-01\n"
        "4000,Unknown Email,,nobody@example.com,\n"
    )
    with pytest.raises(ImportRejected) as caught:
        run(session, bad)
    errors = [str(e) for e in caught.value.errors]
    assert errors == [
        "line 3: arr: 'lots' is not an amount (try 120000, 120,000.50, $120k or 1.2m)",
        "line 4: stage 'sleeping' is not one of onboarding, adopting, mature, renewing, churned",
        "line 5: renewal_date '2026-13-01' is not a date in YYYY-MM-DD form",
        "line 6: csm: no Slack user has the email nobody@example.com",
    ]
    session.rollback()
    assert session.exec(select(Account)).all() == []
    assert session.exec(select(AuditLog)).all() == []


def test_missing_required_column_and_duplicates(session: Session) -> None:
    with pytest.raises(ImportRejected) as caught:
        run(session, "name,segment\nAcme,smb\n")
    assert [str(e) for e in caught.value.errors] == [
        "line 1: missing required column(s): arr; the columns read were 'name', 'segment' "
        "(--help lists every column and its other names)"
    ]
    with pytest.raises(ImportRejected) as caught:
        run(session, "name,arr\nAcme,1\nAcme,2\n")
    assert [str(e) for e in caught.value.errors] == ["line 3: name Acme already appears on line 2"]


def test_email_without_slack_token_is_reported(session: Session) -> None:
    with pytest.raises(ImportRejected) as caught:
        import_accounts(
            session, io.StringIO("name,arr,csm\nA,1,a@b.co\n"), ManualClock(START), resolve_email=None
        )
    assert "needs SLACK_BOT_TOKEN" in str(caught.value.errors[0])
