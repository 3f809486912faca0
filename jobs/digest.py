"""The weekly digest job (PRODUCT.md §6.2): one job per `digest` subscription, at its
day and HH:MM in its time zone, over the last complete week in that zone.

Exactly once per subscription and week: the scheduler's JobRun row (job
`digest:<channel>`, period = the local ISO week) commits with the Outbox rows this
job queues, and the Outbox key (`digest:<channel>:<week covered>`) makes a second
queuing of the same week a no-op. A run missed while the bot was down is done on
return while its week lasts (the scheduler's catch-up); a week that has ended is not
posted late."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock
from bot.delivery.subscriptions import schedule_of, subscription_job_specs
from bot.digest import Queued, queue_digest, week_period
from bot.schedules import JobSpec
from bot.settings import Settings
from models.tables import Subscription


def scheduled_digest(
    session: Session, clock: Clock, settings: Settings, subscription_id: int
) -> Queued | None:
    """Queue the subscription's digest of the last complete week in its time zone."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.kind != "digest":
        return None  # unsubscribed since the job list was read
    now = clock.now()
    _, due = schedule_of(sub).period(now)
    if sub.created_at is not None and _aware(sub.created_at) > due:
        return None  # subscribed after this week's posting time: the first digest is next week's
    period = week_period(sub.tz, now=now)
    return queue_digest(
        session,
        clock,
        settings,
        channel=sub.channel_id,
        period=period,
        segment=sub.filter_segment,
        csm=sub.filter_csm,
    )


def job_specs(settings: Settings, engine: Engine) -> list[JobSpec]:
    """The scheduler's entry (jobs.registry.JOB_MODULES): one job per digest subscription."""
    return subscription_job_specs(engine, "digest", partial(scheduled_digest, settings=settings))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
