"""Imports accept what CRMs export (PRODUCT.md §3.1): aliases for headers, any
case and punctuation, the delimiter sniffed, a BOM; a missing column names the
columns read; Slack's rate limit on lookups is waited out, not blamed on the token."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import text

from bot.playground.fake_slack import FakeSlack
from models.db import make_engine
from tests.cli_process import ROOT, csbot
from tests.harness import BOT_TOKEN


def _accounts(db_url: str) -> list[tuple]:
    with make_engine(db_url).connect() as conn:
        rows = conn.execute(
            text(
                "select external_id, name, arr_cents, segment, csm_slack_id, renewal_date, stage, "
                "licensed_users from account order by name"
            )
        ).all()
    return [tuple(r) for r in rows]


def _env(db_url: str, fake: FakeSlack) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def test_the_crm_export_sample_imports_with_its_aliases(
    db_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "examples" / "crm_export.csv", tmp_path)
    done = csbot(["import", "accounts", "crm_export.csv"], _env(db_url, fake_slack), tmp_path)
    assert done.code == 0, done.output
    assert "Imported crm_export.csv: 3 created, 0 updated, 0 unchanged." in done.stdout
    assert "Ignored unknown column(s): Industry" in done.stderr
    rows = [(*r[:5], _day(r[5]), *r[6:]) for r in _accounts(db_url)]
    assert rows == [
        ("SF-0101", "Hooli", 25_000_000, "Enterprise", "UCSM1", date(2027, 2, 28), "mature", 600),
        ("SF-0102", "Pied Piper", 3_600_000, "SMB", "UCSM2", date(2026, 12, 15), "onboarding", 25),
        (
            "SF-0103",
            "Vandelay Industries",
            9_850_000,
            "Mid-Market",
            "UCSM1",
            date(2027, 5, 1),
            "adopting",
            140,
        ),
    ]


def test_the_plain_samples_import(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    for name in ("accounts.csv", "usage.csv", "nps.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path)
    env = _env(db_url, fake_slack)
    assert "4 created" in csbot(["import", "accounts", "accounts.csv"], env, tmp_path).stdout
    assert "2 created" in csbot(["import", "usage", "usage.csv"], env, tmp_path).stdout
    assert "2 created" in csbot(["import", "nps", "nps.csv"], env, tmp_path).stdout


def test_a_semicolon_file_with_a_bom_and_odd_header_case(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "excel.csv").write_bytes(
        "\ufeffCOMPANY;ARR ($);Renewal-Date\nAcme;120000;2027-03-31\nGlobex;80,5k;\n".encode()
    )
    done = csbot(["import", "accounts", "excel.csv"], {"DATABASE_URL": db_url}, tmp_path)
    assert done.code == 1  # 80,5k is not an amount: the row is named, nothing is written
    assert "line 3: arr: '80,5k' is not an amount" in done.stderr
    (tmp_path / "excel.csv").write_bytes(
        "\ufeffCOMPANY;ARR ($);Renewal-Date\nAcme;120000;2027-03-31\nGlobex;80500;\n".encode()
    )
    done = csbot(["import", "accounts", "excel.csv"], {"DATABASE_URL": db_url}, tmp_path)
    assert done.code == 0, done.output
    assert "Imported excel.csv: 2 created" in done.stdout
    assert [(r[1], r[2]) for r in _accounts(db_url)] == [("Acme", 12_000_000), ("Globex", 8_050_000)]


def test_a_missing_column_names_the_columns_read_and_the_closest(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text("Acount Nme\tRevenue\tCSM Email\nAcme\t1\tcasey@example.com\n")
    done = csbot(["import", "accounts", "export.csv"], {"DATABASE_URL": db_url}, tmp_path)
    assert done.code == 1
    assert done.lines() == [
        "Rejected export.csv: 1 bad row(s); nothing was written.",
        "  line 1: missing required column(s): name, arr; the columns read were 'Acount Nme', 'Revenue', "
        "'CSM Email' (as csm); name looks like 'Acount Nme': rename that column to name; "
        "arr looks like 'Revenue': rename that column to arr (--help lists every column and its other names)",
    ]


def test_import_help_documents_every_column_and_form(tmp_path: Path) -> None:
    done = csbot(["import", "accounts", "--help"], {}, tmp_path)
    assert done.code == 0
    for column in ("name", "arr", "external_id", "segment", "csm", "renewal_date", "contract_start", "stage"):
        assert f"  {column}: " in done.output
    for form in (
        "$120k",
        "1.2m",
        "YYYY-MM-DD",
        "onboarding, adopting, mature, renewing, churned",
        "csm email",
    ):
        assert form in done.output
    assert "examples/crm_export.csv" in done.output


def test_a_rate_limited_lookup_waits_and_goes_on(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name,arr,csm\nAcme,1,casey@example.com\n")
    fake_slack.fail("users.lookupByEmail", status=429, retry_after=0, times=2)
    done = csbot(["import", "accounts", "a.csv"], _env(db_url, fake_slack), tmp_path)
    assert done.code == 0, done.output
    assert "scope" not in done.output and "SLACK_BOT_TOKEN" not in done.output
    assert [c.status for c in fake_slack.calls_to("users.lookupByEmail")] == [429, 429, 200]
    assert [r[4] for r in _accounts(db_url)] == ["UCSM1"]


def test_a_rate_limit_that_never_ends_is_one_line(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name,arr,csm\nAcme,1,casey@example.com\n")
    fake_slack.fail("users.lookupByEmail", status=429, retry_after=0, times=10)
    done = csbot(["import", "accounts", "a.csv"], _env(db_url, fake_slack), tmp_path)
    assert done.code == 1
    assert done.lines()[-1] == (
        "csbot: Slack kept rate limiting users.lookupByEmail after 5 waits: run the import again in a few "
        "minutes. Nothing was written."
    )
    assert _accounts(db_url) == []


def test_the_lookup_waits_as_long_as_retry_after_says(fake_slack: FakeSlack) -> None:
    from slack_sdk import WebClient

    from bot.slack.lookup import lookup_emails

    fake_slack.fail("users.lookupByEmail", status=429, retry_after=7, times=1)
    fake_slack.fail("users.lookupByEmail", status=429, retry_after=3, times=1)
    waited: list[float] = []
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    client.retry_handlers = []  # the lookup, not slack_sdk, decides how long to wait
    found = lookup_emails(client, ["casey@example.com", "nobody@example.com"], sleep=waited.append)
    assert waited == [7.0, 3.0]
    assert found == {"casey@example.com": "UCSM1", "nobody@example.com": None}
