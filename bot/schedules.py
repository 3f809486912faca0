"""When a job is due: job specs, their schedules and periods (PRODUCT.md §6, §7).

A job is a plain function; the scheduler only decides when. Each spec has a
*period* (a minute, a local day, a local ISO week): a job runs once per period,
recorded in the JobRun ledger, even across restarts and several replicas, and a
run missed while the scheduler was down is done on start-up if its period has
not ended.

These types live below both the scheduler (`jobs/`) and the features that
describe their own schedules (a subscription's alerts or digest), so neither
imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    """When a job is due: `trigger` wakes the scheduler at the due times;
    `period(now)` names the period `now` falls in and when the run is due in it."""

    trigger: BaseTrigger
    period: Callable[[datetime], tuple[str, datetime]]
    describe: str = ""


class JobNotReady(Exception):
    """Raised by a job whose inputs are not there yet (not a failure): the scheduler
    logs it quietly and runs the job again a few minutes later in the same period."""


@dataclass(frozen=True)
class JobSpec:
    """One job. `fn(session, clock, **kwargs)` runs in the same transaction as its
    JobRun row (so its writes and Outbox rows commit exactly once per period);
    with `with_session=False` it is `fn(engine, clock, **kwargs)` and manages its
    own transactions (long batch jobs)."""

    name: str
    schedule: Schedule
    fn: Callable[..., Any]
    with_session: bool = True
    kwargs: dict[str, Any] = field(default_factory=dict)
    # An unfinished run older than this is taken to have died with its process.
    stale_after: timedelta = timedelta(minutes=30)

    def period_key(self, now: datetime) -> str:
        return self.schedule.period(now)[0]


def every(seconds: int) -> Schedule:
    """Every `seconds` (periods aligned on the epoch, UTC): e.g. every(60) for the escalation policy."""
    if seconds < 1:
        raise ValueError("seconds must be >= 1")

    def period(now: datetime) -> tuple[str, datetime]:
        stamp = int(now.timestamp()) // seconds * seconds
        start = datetime.fromtimestamp(stamp, UTC)
        fmt = "%Y-%m-%dT%H:%M" if seconds % 60 == 0 else "%Y-%m-%dT%H:%M:%S"
        return start.strftime(fmt), start

    trigger: BaseTrigger
    if seconds % 60 == 0 and 60 <= seconds <= 3600 and 3600 % seconds == 0:
        trigger = CronTrigger(minute=f"*/{seconds // 60}", timezone=UTC)
    else:
        trigger = IntervalTrigger(seconds=seconds, timezone=UTC, start_date=datetime(2000, 1, 1, tzinfo=UTC))
    return Schedule(trigger, period, f"every {seconds} s")


def every_minute() -> Schedule:
    return every(60)


def _hh_mm(at: str) -> time:
    hour, _, minute = at.partition(":")
    return time(int(hour), int(minute or 0))


def daily_at(at: str, tz: str) -> Schedule:
    """Once a local day at HH:MM in `tz` (period: the local date)."""
    zone, when = ZoneInfo(tz), _hh_mm(at)

    def period(now: datetime) -> tuple[str, datetime]:
        day = now.astimezone(zone).date()
        return day.isoformat(), datetime.combine(day, when, tzinfo=zone).astimezone(UTC)

    return Schedule(
        CronTrigger(hour=when.hour, minute=when.minute, timezone=zone), period, f"daily at {at} {tz}"
    )


def weekly_at(day: int, at: str, tz: str) -> Schedule:
    """Once a week, `day` (0 = Monday) at HH:MM in `tz` (period: the local ISO week, Monday first)."""
    zone, when = ZoneInfo(tz), _hh_mm(at)

    def period(now: datetime) -> tuple[str, datetime]:
        local: date = now.astimezone(zone).date()
        monday = local - timedelta(days=local.weekday())
        year, week, _ = monday.isocalendar()
        due = datetime.combine(monday + timedelta(days=day), when, tzinfo=zone).astimezone(UTC)
        return f"{year}-W{week:02d}", due

    trigger = CronTrigger(day_of_week=DAYS[day], hour=when.hour, minute=when.minute, timezone=zone)
    return Schedule(trigger, period, f"weekly on {DAYS[day].title()} at {at} {tz}")
