"""`csbot demo` (PRODUCT.md §7): the sample portfolio in a database of its own,
scored, and the alert it would post printed as text — the same on every run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main


def test_demo_prints_the_alert_the_same_way_every_run_in_its_own_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team_db = tmp_path / "team.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{team_db}")
    demo_db = tmp_path / "demo.db"
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--db", str(demo_db)])
    second = runner.invoke(main, ["demo", "--db", str(demo_db)])
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    assert "50 accounts" in first.output
    assert "--- would post to #cs-alerts ---" in first.output
    assert "newly at risk" in first.output and "[Snooze 7 days]" in first.output
    assert "<@" not in first.output  # mentions printed as @names
    assert not team_db.exists()  # DATABASE_URL's database is never touched
    with closing(sqlite3.connect(demo_db)) as conn:
        accounts = conn.execute(
            "SELECT count(*), count(DISTINCT segment), count(DISTINCT csm_slack_id) FROM account"
        )
        assert accounts.fetchone() == (50, 3, 5)
        states = {row[0] for row in conn.execute("SELECT status FROM escalation")}
        assert states == {"resolved", "acknowledged"}
        weeks = conn.execute("SELECT count(DISTINCT strftime('%W', occurred_at)) FROM touchpoint").fetchone()[
            0
        ]
        assert weeks >= 12
        kinds = {row[0] for row in conn.execute("SELECT DISTINCT kind FROM arrmovement")}
        assert {"new", "expansion", "contraction", "churn"} <= kinds
        off_ledger = conn.execute(
            "SELECT count(*) FROM account a WHERE a.arr_cents != (SELECT coalesce(sum(m.amount_cents), 0)"
            " FROM arrmovement m WHERE m.account_id = a.id AND m.deleted_at IS NULL)"
        ).fetchone()[0]
        assert off_ledger == 0  # ARR is the sum of the movements (PRODUCT.md §6.0)
        assert conn.execute("SELECT count(*) FROM account WHERE stage = 'churned'").fetchone()[0] == 1
    assert "--- would post to #cs-leadership on Monday at 09:00 (the weekly digest) ---" in first.output
    assert "Gross revenue retention" in first.output and "Accounts at risk" in first.output
