"""The scheduled jobs as the scheduler sees them (both backends, clock moved by hand):
the registry lists the escalation policy (every minute), the daily health scoring
(07:00 in CSBOT_TZ) and one alerts job per alerts subscription (at its own time);
the scheduler's due-check runs them at those times, once per period; and in
`csbot run` a job's Outbox rows are delivered at once, because the scheduler
wakes the worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.escalations.service import open_escalation
from bot.schedules import JobSpec
from bot.settings import Settings
from jobs.outbox import OutboxWorker
from jobs.registry import load_specs
from jobs.scheduler import ALREADY_RAN, NOT_DUE, OK, FileLock, SchedulerService, run_if_due
from models.db import session_scope
from models.tables import Account, Alert, HealthSnapshot, JobRun
from tests.escalation_helpers import dms, flush, open_via_command, parent, seed_team, thread_replies
from tests.harness import START, Bot
from tests.test_health_job import add_account, listed, subscribe, touch

# The test settings' CSBOT_TZ is America/New_York (UTC-5 in November): 07:00 there is 12:00 UTC.
SAT_0659_NY = datetime(2026, 11, 21, 11, 59, tzinfo=UTC)


def _specs(bot: Bot) -> dict[str, JobSpec]:
    return {spec.name: spec for spec in load_specs(bot.deps.settings, bot.engine)}


def _runs(bot: Bot, job: str) -> list[tuple[str, str | None]]:
    with session_scope(bot.engine) as s:
        rows = s.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all()
        return [(r.period, r.outcome) for r in rows]


@pytest.fixture
def team(bot: Bot) -> Bot:
    seed_team(bot.engine, bot.clock)
    bot.deps.accounts.invalidate()
    return bot


def test_registry_lists_the_policy_every_minute_and_health_daily_at_7_local(bot: Bot) -> None:
    specs = _specs(bot)
    assert sorted(specs) == ["escalation_policy", "health"]
    policy, health = specs["escalation_policy"], specs["health"]
    assert policy.schedule.describe == "every 60 s"
    assert health.schedule.describe == "daily at 07:00 America/New_York"
    # Periods: the policy's is the UTC minute; health's is the team's local day, due at 07:00 there.
    assert policy.schedule.period(START + timedelta(seconds=59)) == ("2026-11-20T15:00", START)
    late_evening_ny = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 22:30 on the 20th in New York
    seven_ny = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert health.schedule.period(late_evening_ny) == ("2026-11-20", seven_ny)
    # What APScheduler wakes the leader for: the next minute, and the next 07:00 in New York.
    next_fire = policy.schedule.trigger.get_next_fire_time(None, START + timedelta(seconds=1))
    assert next_fire == START + timedelta(minutes=1)
    assert health.schedule.trigger.get_next_fire_time(None, START) == seven_ny + timedelta(days=1)
    # The time zone follows CSBOT_TZ.
    in_paris = load_specs(replace(bot.deps.settings, tz="Europe/Paris"), bot.engine)
    paris = next(spec for spec in in_paris if spec.name == "health")
    assert paris.schedule.period(START) == ("2026-11-20", datetime(2026, 11, 20, 6, 0, tzinfo=UTC))


def test_policy_job_repages_an_unacknowledged_sev1_when_the_scheduler_checks(team: Bot) -> None:
    bot = team
    policy = _specs(bot)["escalation_policy"]
    open_via_command(bot, "Acme Corp sev1 checkout down")
    msg = parent(bot)
    assert len(dms(bot, "UCSM1")) == 1  # the first page

    bot.clock.advance(minutes=14)
    assert run_if_due(bot.engine, bot.clock, policy) == OK  # it runs every minute…
    flush(bot)
    assert len(dms(bot, "UCSM1")) == 1  # …and pages nobody before the 15-minute SLA

    bot.clock.advance(minutes=1)  # 15:15, the SLA is missed
    assert run_if_due(bot.engine, bot.clock, policy) == OK
    assert run_if_due(bot.engine, bot.clock, policy) == ALREADY_RAN  # once per minute, whoever asks
    flush(bot)
    assert len(dms(bot, "UCSM1")) == 2
    assert "Reminder, not acknowledged after 15 min" in dms(bot, "UCSM1")[1]
    assert "<@UCSM1>, this is still not acknowledged after 15 min." in thread_replies(bot, msg)[-1]
    assert _runs(bot, "escalation_policy") == [("2026-11-20T15:14", OK), ("2026-11-20T15:15", OK)]


def _at_risk_portfolio(bot: Bot) -> None:
    """Acme: no touchpoint for 60 days and the last three negative → red, at risk.
    Hooli: touched yesterday, happily → green."""
    acme = add_account(bot, "Acme", arr=500_000, csm="UCSM1", segment="enterprise")
    touch(bot, acme, 60, sentiment=-1, count=3)
    hooli = add_account(bot, "Hooli", arr=900_000, csm="UCSM2", segment="enterprise")
    touch(bot, hooli, 1, sentiment=1)
    subscribe(bot, "CALERTS", time_of_day="07:30", tz="America/New_York")


def test_health_job_scores_at_7_local_and_the_channel_is_posted_once_at_its_own_time(bot: Bot) -> None:
    _at_risk_portfolio(bot)
    specs = _specs(bot)
    health, alerts = specs["health"], specs["alerts:CALERTS"]
    assert alerts.schedule.describe == "daily at 07:30 America/New_York"
    bot.clock.set(SAT_0659_NY)
    assert run_if_due(bot.engine, bot.clock, health) == NOT_DUE
    assert run_if_due(bot.engine, bot.clock, alerts) == NOT_DUE
    flush(bot)
    assert bot.fake.messages_in("CALERTS") == []

    bot.clock.advance(minutes=1)  # Saturday 07:00 in New York: scored, posted at 07:30
    assert run_if_due(bot.engine, bot.clock, health) == OK
    assert run_if_due(bot.engine, bot.clock, alerts) == NOT_DUE
    flush(bot)
    assert bot.fake.messages_in("CALERTS") == []
    with session_scope(bot.engine) as s:
        assert len(s.exec(select(HealthSnapshot)).all()) == 2
        assert [a.state for a in s.exec(select(Alert)).all()] == ["open"]

    bot.clock.advance(minutes=30)  # 07:30 in New York, the channel's time
    assert run_if_due(bot.engine, bot.clock, alerts) == OK
    flush(bot)
    (alert,) = bot.fake.messages_in("CALERTS")
    assert listed(alert) == ["Acme"]

    for hours in (0, 3, 11):  # the same day again (the sweep, a restart, a second replica)
        bot.clock.advance(hours=hours)
        assert run_if_due(bot.engine, bot.clock, health) == ALREADY_RAN
        assert run_if_due(bot.engine, bot.clock, alerts) == ALREADY_RAN
    flush(bot)
    assert len(bot.fake.messages_in("CALERTS")) == 1

    bot.clock.set(SAT_0659_NY + timedelta(days=1, minutes=1))  # Sunday 07:00: a new day, runs again…
    assert run_if_due(bot.engine, bot.clock, health) == OK
    bot.clock.advance(minutes=30)
    assert run_if_due(bot.engine, bot.clock, alerts) == OK
    flush(bot)
    assert len(bot.fake.messages_in("CALERTS")) == 1  # …but Acme is no news: nothing posted
    assert _runs(bot, "health") == [("2026-11-21", OK), ("2026-11-22", OK)]
    assert _runs(bot, "alerts:CALERTS") == [("2026-11-21", OK), ("2026-11-22", OK)]


# --- inside `csbot run`: the scheduler wakes the Outbox worker ---------------------------


@contextmanager
def sleepy_worker(bot: Bot, settings: Settings) -> Iterator[OutboxWorker]:
    """The delivery worker of `csbot run`, except that it never polls on its own:
    after its first round, only a wake-up (deps.wake_outbox) makes it deliver."""
    from bot.app import build_client

    worker = OutboxWorker(
        bot.engine,
        build_client(settings, retries=False),
        bot.clock,
        wakeup=bot.deps.outbox_wakeup,
        poll_seconds=3600,
        name="test-sleepy-outbox",
    ).start()
    try:
        assert worker.idle.wait(10)  # its first round found nothing to send; now it waits
        yield worker
    finally:
        worker.stop()


def _service(bot: Bot, tmp_path: Path, **kwargs: Any) -> SchedulerService:
    settings, engine = bot.deps.settings, bot.engine
    return SchedulerService(
        engine,
        bot.clock,
        lambda: load_specs(settings, engine),
        lock=FileLock(tmp_path / "leader.lock"),
        retry_seconds=0.05,
        **kwargs,
    )


def test_scheduler_in_csbot_run_wakes_the_worker_after_the_jobs_queue_messages(
    team: Bot, settings: Settings, tmp_path: Path
) -> None:
    bot = team
    # A sev1 opened with the domain function (no handler wakes the worker), delivered by the test.
    with session_scope(bot.engine) as s:
        acme = s.exec(select(Account).where(Account.name == "Acme Corp")).one()
        assert bot.deps.escalation_policy is not None
        open_escalation(
            s,
            bot.clock,
            account_id=acme.id,  # type: ignore[arg-type]
            severity="sev1",
            summary="checkout down",
            owner="UCSM1",
            opened_by="UCSM2",
            channel="CESC",
            policy=bot.deps.escalation_policy,
        )
    flush(bot)
    assert len(dms(bot, "UCSM1")) == 1
    _at_risk_portfolio(bot)
    bot.clock.advance(minutes=15)  # Friday 10:15 in New York: the sev1 is overdue, health is due today
    with sleepy_worker(bot, settings):
        service = _service(bot, tmp_path, after_run=bot.deps.wake_outbox).start()
        try:
            assert service.caught_up.wait(10)
            assert service.last_sweep == {"escalation_policy": OK, "health": OK, "alerts:CALERTS": OK}
            # Only a wake-up makes this worker deliver: the re-page and the alert arrive.
            assert bot.fake.wait_for(lambda: len(dms(bot, "UCSM1")) == 2, timeout=10)
            assert bot.fake.wait_for(lambda: bot.fake.messages_in("CALERTS"), timeout=10)
        finally:
            service.stop()
    assert "Reminder, not acknowledged after 15 min" in dms(bot, "UCSM1")[1]
    assert "<@UCSM1>, this is still not acknowledged after 15 min." in thread_replies(bot, parent(bot))[-1]
    # Acme Corp is at risk too: its open sev1 is the only measure it has (score 0, red).
    assert [listed(m) for m in bot.fake.messages_in("CALERTS")] == [["Acme", "Acme Corp"]]


def test_csbot_run_wires_the_wake_up_into_its_scheduler(bot: Bot, settings: Settings) -> None:
    from bot.runner import start_background

    services = start_background(replace(settings, scheduler_enabled=True), bot.deps)
    try:
        scheduler = services[-1]
        assert isinstance(scheduler, SchedulerService)
        assert scheduler.after_run == bot.deps.wake_outbox
        assert sorted(spec.name for spec in scheduler.specs()) == ["escalation_policy", "health"]
    finally:
        for service in reversed(services):
            service.stop()
