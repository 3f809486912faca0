"""The csbot command as a user runs it: db upgrade, import accounts, run's checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from bot.playground.fake_slack import FakeSlack
from models.db import make_engine
from models.migrate import head_revision, upgrade
from tests.harness import BOT_TOKEN


def invoke(args: list[str], env: dict[str, str]) -> object:
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_help_lists_the_commands() -> None:
    result = invoke(["--help"], {})
    assert result.exit_code == 0
    for command in ("run", "db", "import"):
        assert command in result.output


def test_db_upgrade_creates_schema_then_is_a_noop(empty_db_url: str) -> None:
    env = {"DATABASE_URL": empty_db_url}
    first = invoke(["db", "upgrade"], env)
    assert first.exit_code == 0
    assert f"from empty to {head_revision()}" in first.output
    second = invoke(["db", "upgrade"], env)
    assert second.exit_code == 0
    assert "already at the latest revision" in second.output


def test_import_accounts_prints_counts_and_resolves_emails(
    db_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text('name,arr,csm\nAcme,120000,casey@example.com\nGlobex,"80,000",UCSM2\n')
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url}
    first = invoke(["import", "accounts", str(csv_file)], env)
    assert first.exit_code == 0, first.output
    assert "Imported accounts.csv: 2 created, 0 updated, 0 unchanged." in first.output
    assert [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == ["casey@example.com"]
    second = invoke(["import", "accounts", str(csv_file)], env)
    assert "0 created, 0 updated, 2 unchanged" in second.output
    with make_engine(db_url).connect() as conn:
        rows = conn.execute(text("select name, arr_cents, csm_slack_id from account order by name")).all()
    assert [tuple(r) for r in rows] == [("Acme", 12_000_000, "UCSM1"), ("Globex", 8_000_000, "UCSM2")]


def test_import_rejects_bad_file_with_exit_1(db_url: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("name,arr\nA,1\nB,x\nC,y\nD,z\n")
    result = invoke(["import", "accounts", str(csv_file)], {"DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert "Rejected bad.csv: 3 bad row(s); nothing was written." in result.output
    for line in (3, 4, 5):
        assert f"line {line}: arr:" in result.output
    with make_engine(db_url).connect() as conn:
        assert conn.execute(text("select count(*) from account")).scalar_one() == 0


def test_import_on_a_database_behind_says_to_upgrade(empty_db_url: str, tmp_path: Path) -> None:
    upgrade(make_engine(empty_db_url), "0001")
    csv_file = tmp_path / "a.csv"
    csv_file.write_text("name,arr\nA,1\n")
    result = invoke(["import", "accounts", str(csv_file)], {"DATABASE_URL": empty_db_url})
    assert result.exit_code == 2
    assert "run `csbot db upgrade` first" in result.output


@pytest.mark.parametrize("revision", [None, "0001"])
def test_run_refuses_a_database_that_is_behind(empty_db_url: str, revision: str | None) -> None:
    if revision:
        upgrade(make_engine(empty_db_url), revision)
    elif empty_db_url.startswith("sqlite"):
        Path(empty_db_url.split(":///", 1)[1]).touch()  # an empty file: `run` never creates one
    env = {"DATABASE_URL": empty_db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "abcdefgh1234"}
    result = invoke(["run"], env)
    assert result.exit_code == 2
    assert f"is at revision {revision or 'empty'} but this version needs {head_revision()}" in result.output
    assert "run `csbot db upgrade` first" in result.output
    assert BOT_TOKEN not in result.output


def test_import_with_a_slack_error_says_so_in_one_line_and_writes_nothing(
    db_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text("name,arr,csm\nAcme,120000,casey@example.com\n")
    fake_slack.fail("users.lookupByEmail", error="invalid_auth")
    env = {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url}
    result = invoke(["import", "accounts", str(csv_file)], env)
    assert result.exit_code == 1
    assert "csbot: Slack refused users.lookupByEmail (invalid_auth)" in result.output
    assert "Nothing was written." in result.output
    assert "Traceback" not in result.output
    with make_engine(db_url).connect() as conn:
        assert conn.execute(text("select count(*) from account")).scalar_one() == 0
