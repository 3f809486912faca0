"""`csbot digest --preview` and `--send` as an operator runs them (PRODUCT.md §6.2):
the digest as text with no Slack call, the chart written to a file, and queuing once
per channel and week with a second `--send` saying it was already done."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app import build_client
from bot.clock import ManualClock
from bot.playground.fake_slack import FakeSlack
from bot.settings import Settings
from jobs.outbox import deliver_due
from models.db import session_scope
from models.tables import Outbox, Subscription
from tests import metrics_portfolio


def run(args: list[str], db_url: str) -> Result:
    from bot.cli import main

    env = {"DATABASE_URL": db_url, "CSBOT_TZ": "Europe/Berlin"}
    return CliRunner().invoke(main, ["digest", *args], env=env, catch_exceptions=False)


def _seed(engine: Engine, *, subscribe: bool = True) -> None:
    with session_scope(engine) as s:
        metrics_portfolio.build(s)
        if subscribe:
            s.add(
                Subscription(
                    channel_id="CDIGEST",
                    kind="digest",
                    filter_segment="Enterprise",
                    day=0,
                    tz="Europe/Berlin",
                    created_by="UDIR1",
                    created_at=datetime(2026, 11, 1, tzinfo=UTC),
                )
            )


def test_preview_prints_the_digest_and_writes_the_chart_without_slack(
    engine: Engine, db_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    _seed(engine)
    png = tmp_path / "chart.png"
    result = run(["--preview", "--week", "2026-W48", "--chart", str(png)], db_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Weekly digest · 2026-W48 (Nov 23 – Nov 29)"
    assert "Scope: all accounts · week Mon 23 Nov – Sun 29 Nov (Europe/Berlin)" in lines
    assert "ARR: $502k  = no change" in lines
    assert "Preview for all accounts in Europe/Berlin; nothing was posted." in lines
    assert png.read_bytes().startswith(b"\x89PNG")
    assert any(line.startswith(f"Chart written to {png} (") for line in lines)
    assert fake_slack.calls == []
    # a channel's preview uses its subscription's scope
    scoped = run(["--preview", "--channel", "CDIGEST", "--week", "2026-W48"], db_url)
    assert "Scope: segment Enterprise · week Mon 23 Nov – Sun 29 Nov (Europe/Berlin)" in scoped.output
    assert "Preview of CDIGEST's digest (Europe/Berlin); nothing was posted." in scoped.output
    with session_scope(engine) as s:
        assert s.exec(select(Outbox)).all() == []


def test_mistakes_get_one_line(engine: Engine, db_url: str) -> None:
    _seed(engine, subscribe=False)
    bad_week = run(["--preview", "--week", "2026-48"], db_url)
    assert (bad_week.exit_code, bad_week.output) == (
        1,
        "csbot digest: `2026-48` is not an ISO week: write it like 2026-W48\n",
    )
    neither = run([], db_url)
    assert neither.exit_code == 2 and neither.output.startswith("csbot digest: say --preview or --send")
    no_channel = run(["--send"], db_url)
    assert no_channel.exit_code == 2 and "needs --channel C" in no_channel.output
    unsubscribed = run(["--send", "--channel", "CGENERAL", "--week", "2026-W48"], db_url)
    assert unsubscribed.exit_code == 1
    assert unsubscribed.output == (
        "csbot digest: CGENERAL has no digest subscription: "
        "`/cs subscribe digest` in that channel sets one up, then `csbot digest --send` can post it now.\n"
    )


def test_send_queues_once_per_week_and_channel_and_says_when_it_was_sent(
    engine: Engine, db_url: str, fake_slack: FakeSlack, settings: Settings
) -> None:
    _seed(engine)
    first = run(["--send", "--channel", "CDIGEST", "--week", "2026-W48"], db_url)
    assert first.output == (
        "Queued the 2026-W48 digest for CDIGEST with its chart; the running bot posts it now.\n"
    )
    again = run(["--send", "--channel", "CDIGEST", "--week", "2026-W48"], db_url)
    assert again.output.startswith("The 2026-W48 digest for CDIGEST was already queued on ")
    assert again.output.endswith(
        "; it has not been posted yet (is the bot running?). Nothing new was queued.\n"
    )
    with session_scope(engine) as s:
        assert sorted(r.key for r in s.exec(select(Outbox)).all()) == [
            "digest:CDIGEST:2026-W48",
            "digest:CDIGEST:2026-W48:chart",
        ]
    # the worker posts it (to the fake Slack); a third --send says when
    clock = ManualClock(datetime(2030, 1, 7, 8, tzinfo=UTC))
    client = build_client(settings, retries=False)
    while deliver_due(engine, client, clock):
        pass
    assert len(fake_slack.messages_in("CDIGEST")) == 2  # the digest and its chart in the thread
    third = run(["--send", "--channel", "CDIGEST", "--week", "2026-W48"], db_url)
    assert third.output.endswith(
        "; it was posted on Mon 07 Jan 09:00 Europe/Berlin. Nothing new was queued.\n"
    )
    # another week is another digest
    other = run(["--send", "--channel", "CDIGEST", "--week", "2026-W47"], db_url)
    assert other.output.startswith("Queued the 2026-W47 digest for CDIGEST")
