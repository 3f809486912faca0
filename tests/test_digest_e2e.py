"""The weekly digest end to end (PRODUCT.md §6.2, §6.3), on SQLite and PostgreSQL,
with the clock moved by hand: the scheduler's jobs, the Outbox worker's delivery to
the fake Slack, the chart uploaded into the digest's thread — and the faults: Slack
rate-limiting, a crash after Slack answered, two schedulers, the bot down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import select

from bot.app import build_client
from bot.cli import main
from bot.digest import chart_filename, digest_key
from bot.digest.blocks import figure_blocks
from bot.digest.format import FIGURES, figure_line
from bot.metrics import Figure, compute_metrics
from bot.playground.fake_slack.blockkit import _block_errors
from bot.revenue import ledger
from jobs.digest import job_specs
from jobs.outbox import deliver_due
from jobs.registry import load_specs
from jobs.scheduler import ALREADY_RAN, SchedulerService, catch_up, leader_lock_for, run_if_due
from models.db import session_scope
from models.tables import Account, HealthSnapshot, JobRun, Outbox, Subscription
from tests import metrics_portfolio
from tests.harness import Bot

CHANNEL = "CDIGEST"
BERLIN = "Europe/Berlin"
W48_MONDAY = datetime(2026, 11, 30, tzinfo=UTC)  # Monday 30 Nov 2026: W48's digest (Nov 23–29) is due


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the worker catches it)."""


@pytest.fixture
def client(bot: Bot) -> Iterator[WebClient]:
    yield build_client(bot.deps.settings, retries=False)


def subscribe_digest(bot: Bot, *, created: datetime, tz: str = BERLIN, segment: str | None = None) -> None:
    with session_scope(bot.engine) as s:
        s.add(
            Subscription(
                channel_id=CHANNEL,
                kind="digest",
                filter_segment=segment,
                day=0,
                time_of_day="09:00",
                tz=tz,
                created_by="UDIR1",
                created_at=created,
            )
        )


def tick(bot: Bot, when: datetime) -> str:
    """Move the clock and run what the scheduler's sweep runs: the digest job's outcome."""
    bot.clock.set(when)
    return catch_up(bot.engine, bot.clock, job_specs(bot.deps.settings, bot.engine))[f"digest:{CHANNEL}"]


def deliver(bot: Bot, client: WebClient) -> None:
    """What the worker does until nothing due is left (a dead upload queues its note)."""
    for _ in range(20):
        if deliver_due(bot.engine, client, bot.clock):
            continue
        with session_scope(bot.engine) as s:
            due = s.exec(
                select(Outbox.id).where(Outbox.state == "pending", Outbox.next_attempt_at <= bot.clock.now())
            ).first()
        if due is None:
            return


def top_level(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.fake.messages_in(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]


def thread(bot: Bot, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return bot.fake.messages_in(CHANNEL, thread_ts=parent["ts"])[1:]


def completed_files(bot: Bot) -> list[dict[str, Any]]:
    return [f for f in bot.fake.files.values() if f["completed"]]


def portfolio(bot: Bot) -> None:
    with session_scope(bot.engine) as s:
        metrics_portfolio.build(s)


def test_monday_0900_berlin_in_winter_posts_at_0800_utc_the_figures_of_the_week(
    bot: Bot, client: WebClient
) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    assert f"digest:{CHANNEL}" in {spec.name for spec in load_specs(bot.deps.settings, bot.engine)}
    assert tick(bot, W48_MONDAY + timedelta(hours=7, minutes=59)) == "not due"
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"
    deliver(bot, client)

    [message] = top_level(bot)
    blocks = message["blocks"]
    assert blocks[0]["text"]["text"] == "Weekly digest · 2026-W48 (Nov 23 – Nov 29)"
    assert "Mon 23 Nov – Sun 29 Nov (Europe/Berlin)" in blocks[1]["elements"][0]["text"]
    for block in blocks:
        Block.parse(block).validate_json()
    assert _block_errors(blocks, max_blocks=50) == []
    # the figures are the metrics of that week (Monday–Sunday in Berlin) and scope: what
    # `csbot metrics week --as-of 2026-11-29 --json` prints in that time zone
    out = CliRunner().invoke(
        main,
        ["metrics", "week", "--as-of", "2026-11-29", "--json"],
        env={"DATABASE_URL": bot.deps.settings.database_url, "CSBOT_TZ": BERLIN},
        catch_exceptions=False,
    )
    printed = json.loads(out.output)
    assert printed["period"] == {"kind": "week", "start": "2026-11-23", "end": "2026-11-29", "tz": BERLIN}
    shown = {f["text"] for b in blocks for f in b.get("fields", [])}
    for name in FIGURES:
        figure = Figure(**printed["figures"][name])
        line = figure_line(name, figure)
        if name == "nps":
            line += f" ({printed['figures']['nps_responses']['value']:.0f} responses)"
        assert f"*{FIGURES[name][0]}*\n{line}" in shown, name
    with session_scope(bot.engine) as s:
        expected = compute_metrics(s, kind="week", as_of=date(2026, 11, 29), tz=BERLIN)
    assert [b for b in blocks if "fields" in b] == figure_blocks(expected)
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for b in blocks for f in b.get("fields", [])}
    # the hand-computed portfolio's figures (tests/test_metrics_portfolio.py): ARR $502k, 2 at risk, $130k
    assert fields["*ARR*"] == "$502k  = no change"
    assert fields["*ARR at risk*"].startswith("$130k")
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert any(t.startswith("*At risk:* 2 accounts, $130k ARR") and "*Iota*" in t for t in texts)
    assert any(t.startswith("*Escalations:* 1 opened, 0 resolved") for t in texts)

    # the chart: once, in the digest's thread, with the numbers in its alt text
    [upload] = thread(bot, message)
    [shared] = upload["files"]
    assert shared["name"] == chart_filename(digest_key(CHANNEL, "2026-W48"))
    [f] = completed_files(bot)
    assert f["content"].startswith(b"\x89PNG") and f["channels"] == [CHANNEL]
    assert f["alt_txt"].startswith("ARR by health band, weeks W41–W48:")
    assert "W48 green $" in f["alt_txt"]
    # an hour later, or a second sweep: nothing more
    assert tick(bot, W48_MONDAY + timedelta(hours=9)) == "already ran"
    deliver(bot, client)
    assert len(top_level(bot)) == 1 and len(completed_files(bot)) == 1


def test_in_summer_it_posts_at_0700_utc_covering_monday_to_sunday_berlin(bot: Bot, client: WebClient) -> None:
    monday = datetime(2026, 6, 1, tzinfo=UTC)
    with session_scope(bot.engine) as s:
        then = monday - timedelta(days=60)
        acme = Account(name="Acme", csm_slack_id="UCSM1", created_at=then, updated_at=then)
        s.add(acme)
        s.flush()
        ledger.apply(
            s,
            [ledger.Move(acme.id, "new", 5_000_000, date(2026, 4, 1), "import")],
            now=monday - timedelta(days=60),
        )
        # Sunday 31 May 23:30 in Berlin is 21:30 UTC: inside the Berlin week
        s.add(HealthSnapshot(account_id=acme.id, date=date(2026, 5, 31), score=40, band="red", reasons=[]))
    subscribe_digest(bot, created=monday - timedelta(days=3))
    assert tick(bot, monday + timedelta(hours=6, minutes=59)) == "not due"
    assert tick(bot, monday + timedelta(hours=7)) == "ok"
    deliver(bot, client)
    [message] = top_level(bot)
    assert message["blocks"][0]["text"]["text"] == "Weekly digest · 2026-W22 (May 25 – May 31)"
    [f] = completed_files(bot)
    assert "W22 green $0, yellow $0, red $50k" in f["alt_txt"]


def test_a_rate_limit_on_the_message_and_on_the_upload_is_waited_out(bot: Bot, client: WebClient) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    bot.fake.fail("chat.postMessage", status=429, retry_after=30)
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"
    deliver(bot, client)
    assert top_level(bot) == []
    bot.clock.advance(timedelta(seconds=29))
    deliver(bot, client)
    assert top_level(bot) == []  # Slack said 30 s
    bot.fake.fail("files.getUploadURLExternal", status=429, retry_after=20)
    bot.clock.advance(timedelta(seconds=1))
    deliver(bot, client)
    [message] = top_level(bot)
    assert thread(bot, message) == []
    bot.fake.fail("upload", status=503)  # then the upload URL itself fails once
    bot.clock.advance(timedelta(seconds=20))
    deliver(bot, client)
    assert thread(bot, message) == []
    bot.clock.advance(timedelta(minutes=5))
    deliver(bot, client)
    assert len(thread(bot, message)) == 1 and len(completed_files(bot)) == 1
    assert len(top_level(bot)) == 1


def test_a_crash_after_slack_answered_posts_neither_the_message_nor_the_chart_twice(
    bot: Bot, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.outbox
    import jobs.outbox_upload

    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"

    real = jobs.outbox._record_sent

    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(jobs.outbox, "_record_sent", crash)
    with pytest.raises(Crash):
        deliver_due(bot.engine, client, bot.clock)
    monkeypatch.setattr(jobs.outbox, "_record_sent", real)
    assert len(top_level(bot)) == 1  # Slack has it; we never recorded it
    bot.clock.advance(timedelta(minutes=3))  # the dead worker's lease runs out
    monkeypatch.setattr(jobs.outbox_upload, "_record_sent", crash)
    with pytest.raises(Crash):
        deliver(bot, client)  # the message is found in the history; then the upload crashes
    monkeypatch.setattr(jobs.outbox_upload, "_record_sent", real)
    assert len(completed_files(bot)) == 1
    bot.clock.advance(timedelta(minutes=3))
    deliver(bot, client)

    [message] = top_level(bot)
    assert len(thread(bot, message)) == 1 and len(completed_files(bot)) == 1
    with session_scope(bot.engine) as s:
        rows = {r.key: r for r in s.exec(select(Outbox)).all()}
    key = digest_key(CHANNEL, "2026-W48")
    assert rows[key].state == "sent" and rows[key].posted_ts == message["ts"]
    assert rows[key + ":chart"].state == "sent"
    assert rows[key + ":chart"].posted_ts == completed_files(bot)[0]["id"]


def test_two_schedulers_post_one_digest(bot: Bot, client: WebClient) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    bot.clock.set(W48_MONDAY + timedelta(hours=8, minutes=1))
    settings = bot.deps.settings

    def service() -> SchedulerService:
        return SchedulerService(
            bot.engine,
            bot.clock,
            lambda: job_specs(settings, bot.engine),
            lock=leader_lock_for(bot.engine),
            retry_seconds=0.05,
        )

    first, second = service(), service()
    try:
        first.start()
        assert first.caught_up.wait(10)
        second.start()
        assert not second.is_leader.wait(0.3)  # standby: the lock is held
        assert first.last_sweep[f"digest:{CHANNEL}"] == "ok"
        # a replica that runs the job anyway finds this week's run in the ledger
        [spec] = job_specs(settings, bot.engine)
        assert run_if_due(bot.engine, bot.clock, spec) == ALREADY_RAN
    finally:
        first.stop()
        second.stop()
    deliver(bot, client)
    assert len(top_level(bot)) == 1 and len(completed_files(bot)) == 1
    with session_scope(bot.engine) as s:
        runs = s.exec(select(JobRun).where(JobRun.job == f"digest:{CHANNEL}")).all()
        assert [(r.period, r.outcome) for r in runs] == [("2026-W49", "ok")]


def test_down_from_sunday_to_tuesday_posts_mondays_digest_on_tuesday(bot: Bot, client: WebClient) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    assert tick(bot, datetime(2026, 11, 29, 20, tzinfo=UTC)) == "ok"  # Sunday: subscribed after W48's time
    deliver(bot, client)
    assert top_level(bot) == []
    assert tick(bot, datetime(2026, 12, 1, 10, tzinfo=UTC)) == "ok"  # back on Tuesday
    deliver(bot, client)
    [message] = top_level(bot)
    assert message["blocks"][0]["text"]["text"] == "Weekly digest · 2026-W48 (Nov 23 – Nov 29)"


def test_down_the_whole_week_posts_nothing_stale(bot: Bot, client: WebClient) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 13, tzinfo=UTC))
    assert tick(bot, datetime(2026, 11, 22, 20, tzinfo=UTC)) == "ok"  # Sunday W47: W46's digest went out
    deliver(bot, client)
    assert [m["blocks"][0]["text"]["text"] for m in top_level(bot)] == [
        "Weekly digest · 2026-W46 (Nov 9 – Nov 15)"
    ]
    # down from Monday 23 Nov before 09:00 until Monday 30 Nov before 09:00: W47's digest is never posted
    assert tick(bot, W48_MONDAY + timedelta(hours=7, minutes=30)) == "not due"
    deliver(bot, client)
    assert len(top_level(bot)) == 1
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"
    deliver(bot, client)
    assert [m["blocks"][0]["text"]["text"] for m in top_level(bot)] == [
        "Weekly digest · 2026-W46 (Nov 9 – Nov 15)",
        "Weekly digest · 2026-W48 (Nov 23 – Nov 29)",
    ]


def test_matplotlib_raising_posts_the_digest_without_the_chart_saying_so(
    bot: Bot, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(Figure, "savefig", broken)
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"
    deliver(bot, client)
    [message] = top_level(bot)
    assert message["blocks"][-1]["elements"][0]["text"] == (
        ":warning: The chart is missing this week: it could not be drawn (RuntimeError: no backend). "
        "Every figure is above."
    )
    assert thread(bot, message) == [] and bot.fake.files == {}


def test_an_upload_slack_refuses_leaves_a_line_in_the_thread(bot: Bot, client: WebClient) -> None:
    portfolio(bot)
    subscribe_digest(bot, created=datetime(2026, 11, 28, tzinfo=UTC))
    bot.fake.fail("files.getUploadURLExternal", error="missing_scope")
    assert tick(bot, W48_MONDAY + timedelta(hours=8)) == "ok"
    deliver(bot, client)
    [message] = top_level(bot)
    [note] = thread(bot, message)
    assert note["text"] == (
        ":warning: The chart is missing this week: it could not be uploaded (missing_scope). "
        "Every figure is in the message above."
    )
    assert completed_files(bot) == []


def test_a_subscription_made_after_this_weeks_time_starts_next_week(bot: Bot, client: WebClient) -> None:
    subscribe_digest(bot, created=W48_MONDAY + timedelta(hours=10))
    assert tick(bot, W48_MONDAY + timedelta(hours=11)) == "ok"
    deliver(bot, client)
    assert top_level(bot) == []
    assert tick(bot, W48_MONDAY + timedelta(days=7, hours=8)) == "ok"
    deliver(bot, client)
    [message] = top_level(bot)
    assert message["blocks"][0]["text"]["text"] == "Weekly digest · 2026-W49 (Nov 30 – Dec 6)"
    # an empty portfolio's week still posts, in its quiet form
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert texts[0].startswith(":zzz: *A quiet week:*")
    assert "*Escalations:* no escalations this week." in texts
    assert message["blocks"][-1]["elements"][0]["text"] == (
        ":information_source: No chart this week: there are no health scores in the last 8 weeks yet."
    )
    assert thread(bot, message) == [] and bot.fake.files == {}


def test_a_changed_or_removed_subscription_changes_the_job_without_a_restart(bot: Bot) -> None:
    subscribe_digest(bot, created=datetime(2026, 11, 1, tzinfo=UTC))
    [spec] = job_specs(bot.deps.settings, bot.engine)
    assert (spec.name, spec.schedule.describe) == (
        f"digest:{CHANNEL}",
        "weekly on Mon at 09:00 Europe/Berlin",
    )
    with session_scope(bot.engine) as s:
        sub = s.exec(select(Subscription)).one()
        sub.day, sub.time_of_day, sub.tz = 4, "16:30", "America/New_York"
        s.add(sub)
    [spec] = job_specs(bot.deps.settings, bot.engine)
    assert spec.schedule.describe == "weekly on Fri at 16:30 America/New_York"
    with session_scope(bot.engine) as s:
        s.delete(s.exec(select(Subscription)).one())
    assert job_specs(bot.deps.settings, bot.engine) == []
