"""The scheduler's ledger and periods, with the clock moved by hand (both backends)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import Clock, ManualClock
from bot.delivery.outbox import enqueue
from bot.schedules import JobSpec, daily_at, every_minute, weekly_at
from bot.settings import Settings
from jobs.scheduler import ALREADY_RAN, NOT_DUE, OK, FileLock, SchedulerService, catch_up, run_if_due
from models.db import session_scope
from models.tables import JobRun, Outbox
from tests.harness import Bot

# Monday 23 Nov 2026, 08:00 in New York (13:00 UTC).
MONDAY_8AM_NY = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def _digest_job(calls: list[datetime]) -> JobSpec:
    def post_digest(session: Session, clock: Clock) -> None:
        calls.append(clock.now())
        period = weekly_at(0, "09:00", "America/New_York").period(clock.now())[0]
        enqueue(session, clock, key=f"digest:CDIGEST:{period}", text="Weekly digest", channel="CDIGEST")

    return JobSpec("digest:CDIGEST", weekly_at(0, "09:00", "America/New_York"), post_digest)


def _runs(engine: Engine) -> list[tuple[str, str, str | None]]:
    with session_scope(engine) as s:
        return [(r.job, r.period, r.outcome) for r in s.exec(select(JobRun).order_by(JobRun.id)).all()]


def test_weekly_job_runs_once_per_local_week_and_its_outbox_row_once(engine: Engine) -> None:
    clock = ManualClock(MONDAY_8AM_NY)
    calls: list[datetime] = []
    spec = _digest_job(calls)
    assert run_if_due(engine, clock, spec) == NOT_DUE  # 08:00, due at 09:00 New York time
    clock.advance(hours=1)
    assert run_if_due(engine, clock, spec) == OK
    assert run_if_due(engine, clock, spec) == ALREADY_RAN
    clock.advance(days=3)  # a restart later in the week
    assert run_if_due(engine, clock, spec) == ALREADY_RAN
    clock.advance(days=4)  # next Monday 09:00
    assert run_if_due(engine, clock, spec) == OK
    assert calls == [MONDAY_8AM_NY + timedelta(hours=1), MONDAY_8AM_NY + timedelta(days=7, hours=1)]
    assert _runs(engine) == [("digest:CDIGEST", "2026-W48", OK), ("digest:CDIGEST", "2026-W49", OK)]
    with session_scope(engine) as s:
        assert [r.key for r in s.exec(select(Outbox)).all()] == [
            "digest:CDIGEST:2026-W48",
            "digest:CDIGEST:2026-W49",
        ]


def test_missed_run_is_done_on_start_up_only_within_its_period(engine: Engine) -> None:
    calls: list[datetime] = []
    spec = _digest_job(calls)
    # Down on Monday at 09:00, back on Wednesday: still this week, so it runs.
    clock = ManualClock(MONDAY_8AM_NY + timedelta(days=2))
    assert catch_up(engine, clock, [spec]) == {"digest:CDIGEST": OK}
    # Down from before next Monday 09:00 until Sunday evening: still that week, so it runs.
    clock.advance(days=11, hours=10)  # Sunday 6 Dec, 18:00 in New York (week 49)
    assert catch_up(engine, clock, [spec]) == {"digest:CDIGEST": OK}
    assert [p for _, p, _ in _runs(engine)] == ["2026-W48", "2026-W49"]
    # A week in which the bot never came back is not posted late in the next one.
    clock.advance(days=14)
    catch_up(engine, clock, [spec])
    assert [p for _, p, _ in _runs(engine)] == ["2026-W48", "2026-W49", "2026-W51"]


def test_daily_and_minute_periods_follow_the_time_zone() -> None:
    at = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 22:30 on the 20th in New York
    assert daily_at("02:00", "America/New_York").period(at) == (
        "2026-11-20",
        datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
    )
    assert every_minute().period(at + timedelta(seconds=59)) == ("2026-11-21T03:30", at)
    # Paris: Monday 00:30 local is already the new week, although it is Sunday in UTC.
    sunday_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert weekly_at(0, "09:00", "Europe/Paris").period(sunday_utc)[0] == "2026-W48"
    assert weekly_at(0, "09:00", "UTC").period(sunday_utc)[0] == "2026-W47"


def test_failed_run_rolls_back_its_writes_and_is_retried(engine: Engine) -> None:
    clock = ManualClock(MONDAY_8AM_NY)
    attempts: list[int] = []

    def flaky(session: Session, clock: Clock) -> None:
        attempts.append(1)
        enqueue(session, clock, key="nightly:alerts", text="3 accounts at risk", channel="CALERTS")
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")

    spec = JobSpec("nightly", daily_at("00:00", "UTC"), flaky)
    assert run_if_due(engine, clock, spec) == "error: RuntimeError: database hiccup"
    with session_scope(engine) as s:
        assert s.exec(select(Outbox)).all() == []  # the failed run's message is not queued
    assert run_if_due(engine, clock, spec) == ALREADY_RAN  # not retried at once…
    clock.advance(minutes=5)  # …but by a later sweep in the same period
    assert run_if_due(engine, clock, spec) == OK
    with session_scope(engine) as s:
        assert [r.key for r in s.exec(select(Outbox)).all()] == ["nightly:alerts"]
    assert _runs(engine) == [("nightly", "2026-11-23", OK)]


def test_racing_replicas_run_a_period_once(engine: Engine) -> None:
    clock = ManualClock(MONDAY_8AM_NY + timedelta(hours=1))
    calls: list[datetime] = []
    spec = _digest_job(calls)
    results: list[str] = []
    go = threading.Barrier(4)

    def replica() -> None:
        go.wait(timeout=10)
        results.append(run_if_due(engine, clock, spec))

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [ALREADY_RAN] * 3 + [OK]
    assert len(calls) == 1
    assert len(_runs(engine)) == 1


def test_file_lock_admits_one_leader(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "db.lock"), FileLock(tmp_path / "db.lock")
    assert first.try_acquire() is True
    assert second.try_acquire() is False
    first.release()
    assert second.try_acquire() is True
    second.release()


def test_service_catches_up_on_taking_the_lead_and_standby_takes_over(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock(MONDAY_8AM_NY + timedelta(hours=2))
    calls: list[datetime] = []
    spec = _digest_job(calls)
    lock_path = tmp_path / "leader.lock"
    leader = SchedulerService(
        engine, clock, lambda: [spec], lock=FileLock(lock_path), retry_seconds=0.05
    ).start()
    try:
        # `is_leader` is set before the catch-up runs; `caught_up` once it has checked every job.
        # (Stopping between the two skips the catch-up, which the next leader then does.)
        assert leader.caught_up.wait(10)
        assert leader.last_sweep == {"digest:CDIGEST": OK}
        assert len(calls) == 1  # the leader's start-up catch-up ran the missed digest
        standby = SchedulerService(
            engine, clock, lambda: [spec], lock=FileLock(lock_path), retry_seconds=0.05
        )
        standby.start()
        try:
            leader.stop()  # releases the lock
            assert not leader.is_leader.is_set() and not leader.caught_up.is_set()
            assert standby.caught_up.wait(10)
            assert standby.is_leader.is_set()
            assert standby.last_sweep == {"digest:CDIGEST": ALREADY_RAN}  # it checked, found it done
        finally:
            standby.stop()
    finally:
        leader.stop()
    assert len(calls) == 1
    assert _runs(engine) == [("digest:CDIGEST", "2026-W48", OK)]


def test_stop_during_the_catch_up_finishes_the_job_in_flight_and_starts_no_other(
    engine: Engine, tmp_path: Path
) -> None:
    clock = ManualClock(MONDAY_8AM_NY + timedelta(hours=2))
    running, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow(session: Session, clock: Clock) -> None:
        running.set()
        assert release.wait(10)
        ran.append("slow")

    def other(session: Session, clock: Clock) -> None:
        ran.append("other")

    midnight = daily_at("00:00", "UTC")
    specs = [JobSpec("slow", midnight, slow), JobSpec("other", midnight, other)]
    service = SchedulerService(
        engine, clock, lambda: specs, lock=FileLock(tmp_path / "leader.lock"), retry_seconds=0.05
    ).start()
    try:
        assert running.wait(10)  # the catch-up is in `slow`
        service.request_stop()
        release.set()
        service.stop()
        assert not service.is_leader.is_set() and not service.caught_up.is_set()
    finally:
        release.set()
        service.stop()
    assert ran == ["slow"]
    assert _runs(engine) == [("slow", "2026-11-23", OK)]
    # The lock is free again, and the next leader's catch-up runs what was left.
    successor = SchedulerService(
        engine, clock, lambda: specs, lock=FileLock(tmp_path / "leader.lock"), retry_seconds=0.05
    ).start()
    try:
        assert successor.caught_up.wait(10)
        assert successor.last_sweep == {"slow": ALREADY_RAN, "other": OK}
    finally:
        successor.stop()
    assert ran == ["slow", "other"]


def test_a_subscription_becomes_a_job_on_its_own_schedule(engine: Engine) -> None:
    from bot.delivery.subscriptions import subscription_job_specs
    from models.tables import Subscription

    with session_scope(engine) as s:
        s.add(
            Subscription(
                channel_id="CDIGEST",
                kind="digest",
                day=4,
                time_of_day="16:30",
                tz="Europe/Paris",
                created_by="UDIR1",
                created_at=MONDAY_8AM_NY,
            )
        )
        s.add(Subscription(channel_id="CALERTS", kind="alerts", created_by="UDIR1", created_at=MONDAY_8AM_NY))
    posted: list[tuple[int, datetime]] = []

    def post_digest(session: Session, clock: Clock, subscription_id: int) -> None:
        posted.append((subscription_id, clock.now()))

    (spec,) = subscription_job_specs(engine, "digest", post_digest)
    assert spec.name == "digest:CDIGEST"
    friday_4pm_paris = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    clock = ManualClock(friday_4pm_paris)
    assert run_if_due(engine, clock, spec) == NOT_DUE
    clock.advance(minutes=30)
    assert run_if_due(engine, clock, spec) == OK
    assert posted == [(1, friday_4pm_paris + timedelta(minutes=30))]
    assert _runs(engine) == [("digest:CDIGEST", "2026-W48", OK)]


def test_csbot_run_starts_the_worker_and_the_scheduler_unless_switched_off(
    bot: Bot, settings: Settings
) -> None:
    from dataclasses import replace

    from bot.runner import start_background
    from jobs.outbox import OutboxWorker

    off = start_background(replace(settings, scheduler_enabled=False), bot.deps)
    try:
        assert [type(s) for s in off] == [OutboxWorker]
        with session_scope(bot.engine) as s:
            enqueue(s, bot.clock, key="hello", text="hello", channel="CGENERAL")
        bot.deps.wake_outbox()
        assert bot.fake.wait_for(lambda: bot.fake.messages_in("CGENERAL"))
    finally:
        for service in off:
            service.stop()
    on = start_background(replace(settings, scheduler_enabled=True), bot.deps)
    try:
        assert [type(s) for s in on] == [OutboxWorker, SchedulerService]
        assert on[1].is_leader.wait(10)
    finally:
        for service in reversed(on):
            service.stop()


def test_old_job_runs_are_pruned_and_recent_ones_kept(engine: Engine) -> None:
    from jobs.scheduler import prune_runs

    clock = ManualClock(MONDAY_8AM_NY)
    spec = JobSpec("policy", every_minute(), lambda session, clock: None)
    assert run_if_due(engine, clock, spec) == OK
    clock.advance(days=91)
    assert run_if_due(engine, clock, spec) == OK
    assert prune_runs(engine, clock) == 1
    assert _runs(engine) == [("policy", "2027-02-22T13:00", OK)]


def test_a_job_that_breaks_a_constraint_is_a_recorded_failure_not_already_ran(engine: Engine) -> None:
    """Only the claim's own race means "already ran"; a job's IntegrityError is its failure,
    logged and recorded, so it is retried on schedule instead of silently every sweep."""
    from bot.schedules import JobSpec, every_minute
    from models.tables import Member

    def broken(session: Session, clock: Clock) -> None:
        for _ in range(2):
            session.add(Member(slack_id="UDUP", role="csm", created_at=clock.now(), updated_at=clock.now()))
            session.flush()

    clock = ManualClock(MONDAY_8AM_NY)
    spec = JobSpec("dup", every_minute(), broken)
    outcome = run_if_due(engine, clock, spec)
    assert outcome.startswith("error: IntegrityError")
    assert [(job, result[:21]) for job, _period, result in _runs(engine)] == [
        ("dup", "error: IntegrityError")
    ]
    with session_scope(engine) as s:
        assert s.get(Member, "UDUP") is None  # the job's work was rolled back
