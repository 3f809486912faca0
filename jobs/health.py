"""The nightly health job (PRODUCT.md §4): a HealthSnapshot for every account,
the at-risk decision, and Alert rows kept open/closed, with `Alert.news_at` set
when an account becomes news (newly at risk, a new reason, a snooze run out
while still at risk). Everything is written in one transaction, with a fixed
number of statements whatever the portfolio size. It posts nothing.

Posting is one job per `alerts` subscription, at the subscription's own time
(`/cs subscribe alerts … HH:MM tz`): one message listing the open, un-snoozed
alerts that match its filter and became news since its watermark
(`Subscription.alerts_posted_through`), worst first by ARR; the watermark moves
in the same transaction. Nothing new: no message.

Alert.reasons holds the *keys* of the reasons that were alerted ("red",
"renewal", "drop", "measure:recency", ...), so that a reason whose words move
every day ("no touchpoint in 47 days" → "48 days") is not news, while a reason
that was not there before is."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock, local_date
from bot.delivery.outbox import NORMAL, enqueue
from bot.delivery.subscriptions import subscription_job_specs
from bot.health.blocks import risk_alert_message
from bot.health.evaluation import AccountHealth, evaluate, worst_first
from bot.health.scorecard import Scorecard, load_scorecard
from bot.schedules import JobNotReady, JobSpec, daily_at
from bot.settings import Settings
from jobs.scheduler import OK
from models.db import session_scope
from models.tables import Account, Alert, HealthSnapshot, JobRun, Subscription

log = logging.getLogger(__name__)
ALERT_KIND = "at_risk"
JOB_ID = "health"  # the scheduler's job id (one run per local day of settings.tz)
RUN_AT = "07:00"  # local time in settings.tz: scored before the team's day starts


@dataclass
class HealthRunResult:
    accounts: int = 0
    at_risk: int = 0
    alerted: list[int] = field(default_factory=list)  # account ids that are news this run
    closed: int = 0
    messages: list[str] = field(default_factory=list)  # Outbox keys queued
    health: dict[int, AccountHealth] = field(default_factory=dict, repr=False)  # by account id

    def summary(self) -> str:
        return (
            f"{self.accounts} accounts scored, {self.at_risk} at risk, {len(self.alerted)} newly alerted, "
            f"{self.closed} recovered, {len(self.messages)} message(s) queued"
        )


def run_health(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    card: Scorecard | None = None,
) -> HealthRunResult:
    """Score every account, keep the alerts, and post the news to every alerts
    subscription at once (bench/health.py, `csbot` by hand). Safe to run twice a
    day: today's snapshots are replaced and unchanged alerts stay quiet."""
    card = card or load_scorecard(settings.scorecard_path)
    with session_scope(engine) as session:
        result = health_pass(session, clock, card, tz=settings.tz)
        subscriptions = session.execute(
            select(Subscription).where(Subscription.kind == "alerts").order_by(Subscription.id)
        ).scalars()
        for subscription in subscriptions:
            result.messages += post_alerts(
                session, clock, settings, subscription, card=card, health=result.health
            )
        return result


def scheduled_health(session: Session, clock: Clock, settings: Settings) -> HealthRunResult:
    """The scheduled run: `health_pass` inside the scheduler's JobRun transaction, so
    the snapshots and the alert changes commit exactly once per day (a failed run
    leaves nothing behind and is retried). It posts nothing: see `scheduled_alerts`."""
    return health_pass(session, clock, load_scorecard(settings.scorecard_path), tz=settings.tz)


class NewsNotReady(JobNotReady):
    """Today's scoring is due but not committed yet: the alerts job fails this time and
    the scheduler retries it a few minutes later, instead of spending its day on
    yesterday's news (a channel at 07:00 in CSBOT_TZ fires with the nightly job)."""


def scheduled_alerts(session: Session, clock: Clock, settings: Settings, subscription_id: int) -> list[str]:
    """One alerts subscription's run, at its own time, inside the scheduler's JobRun
    transaction: the message and the watermark commit together, once per local day."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.kind != "alerts":
        return []  # unsubscribed since the job list was read
    now = clock.now()
    period, due = daily_at(RUN_AT, settings.tz).period(now)
    if due <= now:
        scored = session.execute(
            select(JobRun.outcome).where(JobRun.job == JOB_ID, JobRun.period == period)
        ).scalar()
        if scored != OK:
            raise NewsNotReady(
                f"the health job has not finished for {period} yet; the alerts will be retried"
            )
    return post_alerts(session, clock, settings, subscription)


def job_specs(settings: Settings, engine: Engine) -> list[JobSpec]:
    """The scheduler's entry (jobs.registry.JOB_MODULES): the scoring daily at RUN_AT in
    settings.tz, and one posting job per alerts subscription at its own time."""
    nightly = JobSpec(JOB_ID, daily_at(RUN_AT, settings.tz), scheduled_health, kwargs={"settings": settings})
    return [nightly, *subscription_job_specs(engine, "alerts", partial(scheduled_alerts, settings=settings))]


def health_pass(session: Session, clock: Clock, card: Scorecard, *, tz: str = "UTC") -> HealthRunResult:
    now = clock.now()
    today = local_date(now, tz)
    results = evaluate(session, now, card, tz=tz)
    result = HealthRunResult(accounts=len(results), at_risk=sum(1 for r in results if r.at_risk))
    result.health = {r.account.id: r for r in results}
    _write_snapshots(session, today, results)
    _update_alerts(session, now, results, result)
    log.info("health run %s: %s", today, result.summary())
    return result


def _write_snapshots(session: Session, today: date, results: list[AccountHealth]) -> None:
    table: Any = HealthSnapshot.__table__
    session.execute(delete(table).where(table.c.date == today))
    rows = [
        {
            "account_id": r.account.id,
            "date": today,
            "score": r.health.score,
            "band": r.health.band,
            "reasons": [x.text for x in r.risks if not x.key.startswith("measure:")]
            + [x.text for x in r.health.reasons],
            "measures": r.health.measures_json(),
            "at_risk": r.at_risk,
        }
        for r in results
    ]
    if rows:
        session.execute(insert(table), rows)


def _update_alerts(
    session: Session, now: datetime, results: list[AccountHealth], result: HealthRunResult
) -> list[AccountHealth]:
    """Open, refresh and close Alert rows; return the accounts to announce."""
    table: Any = Alert.__table__
    open_rows = session.execute(
        select(table.c.id, table.c.account_id, table.c.reasons, table.c.snoozed_until, table.c.news_at)
        .where(table.c.state == "open", table.c.kind == ALERT_KIND)
        .order_by(table.c.id)
    ).all()
    open_alerts = {row.account_id: row for row in open_rows}  # the newest wins if there were two
    inserts: list[dict[str, Any]] = []
    # every change to an existing alert goes in ONE executemany: (state, reasons, news_at, snoozed_until)
    changes: list[dict[str, Any]] = []

    def change(
        row: Any,
        *,
        state: str = "open",
        reasons: list[str] | None = None,
        news: bool = False,
        snoozed_until: datetime | None = None,
    ) -> None:
        changes.append(
            {
                "b_id": row.id,
                "b_state": state,
                "b_reasons": row.reasons if reasons is None else reasons,
                "b_news_at": now if news else row.news_at,
                "b_snoozed_until": snoozed_until,
            }
        )

    for row in open_rows:
        if open_alerts[row.account_id].id != row.id:
            change(row, state="closed", snoozed_until=row.snoozed_until)
    news: list[AccountHealth] = []
    for r in results:
        alert = open_alerts.pop(r.account.id, None)
        if not r.at_risk:
            if alert is not None:
                change(alert, state="closed", snoozed_until=alert.snoozed_until)
                result.closed += 1
            continue
        keys = [x.key for x in r.risks]
        if alert is None:
            inserts.append(
                {
                    "account_id": r.account.id,
                    "kind": ALERT_KIND,
                    "reasons": keys,
                    "state": "open",
                    "first_seen": now,
                    "last_posted": None,
                    "snoozed_until": None,
                    "news_at": now,
                }
            )
            news.append(r)
            continue
        snoozed = alert.snoozed_until
        if snoozed is not None and snoozed > now:
            # quiet while snoozed; keep the reasons current so the end of the snooze re-announces
            if keys != list(alert.reasons or []):
                change(alert, reasons=keys, snoozed_until=snoozed)
        elif snoozed is not None or set(keys) - set(alert.reasons or []):
            news.append(r)  # the snooze ran out while still at risk, or there is a new reason
            change(alert, reasons=keys, news=True)
        elif keys != list(alert.reasons or []):
            change(alert, reasons=keys)  # a reason went away: remember, so its return is news
    for row in open_alerts.values():  # accounts gone (deleted or churned)
        change(row, state="closed", snoozed_until=row.snoozed_until)
    if inserts:
        session.execute(insert(table), inserts)
    if changes:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                state=bindparam("b_state"),
                reasons=bindparam("b_reasons"),
                news_at=bindparam("b_news_at"),
                snoozed_until=bindparam("b_snoozed_until"),
            ),
            changes,
        )
    result.alerted = [r.account.id for r in news]
    return worst_first(news)


def post_alerts(
    session: Session,
    clock: Clock,
    settings: Settings,
    subscription: Subscription,
    *,
    card: Scorecard | None = None,
    health: dict[int, AccountHealth] | None = None,
) -> list[str]:
    """Queue one message for `subscription` with its alerts that became news since
    its watermark, then move the watermark; returns the Outbox keys queued (0 or 1).

    Only open, un-snoozed alerts matching its filter; an account that is no longer at
    risk now (scored live, or from `health` when the caller just scored everything)
    is left out. A fixed number of statements whatever the number of alerts."""
    now = clock.now()
    table: Any = Alert.__table__
    accounts: Any = Account.__table__
    if subscription.alerts_posted_through is not None:
        fresh = table.c.news_at > subscription.alerts_posted_through
    else:  # a new subscription gets the news from its creation on
        fresh = table.c.news_at >= subscription.created_at
    query = (
        select(table.c.id, table.c.account_id, table.c.news_at, table.c.snoozed_until)
        .join(accounts, accounts.c.id == table.c.account_id)
        .where(table.c.state == "open", table.c.kind == ALERT_KIND, table.c.news_at.is_not(None), fresh)
    )
    if subscription.filter_segment:
        query = query.where(func.lower(accounts.c.segment) == subscription.filter_segment.lower())
    if subscription.filter_csm:
        query = query.where(accounts.c.csm_slack_id == subscription.filter_csm)
    rows = session.execute(query).all()
    if not rows:
        return []
    # Everything read here is dealt with (posted, or quiet because snoozed or recovered).
    subscription.alerts_posted_through = max(row.news_at for row in rows)
    session.add(subscription)
    snoozed = {row.account_id for row in rows if row.snoozed_until is not None and row.snoozed_until > now}
    ids = sorted({row.account_id for row in rows} - snoozed)
    if health is None and ids:
        scope = select(Account.id).where(Account.id.in_(ids))  # type: ignore[union-attr]
        scored = evaluate(
            session, now, card or load_scorecard(settings.scorecard_path), scope, tz=settings.tz
        )
        health = {r.account.id: r for r in scored}
    items = worst_first([health[i] for i in ids if health and i in health and health[i].at_risk])
    if not items:
        session.flush()
        return []
    text, blocks = risk_alert_message(items, today=local_date(now, subscription.tz))
    # Same news queued twice (a re-run) is one message; other news the same day is another.
    digest = hashlib.sha256(
        "|".join(f"{i.account.id}:{','.join(x.key for x in i.risks)}" for i in items).encode()
    ).hexdigest()[:10]
    key = f"alerts:{subscription.channel_id}:{local_date(now, settings.tz).isoformat()}:{digest}"
    enqueue(
        session, clock, key=key, text=text, blocks=blocks, channel=subscription.channel_id, priority=NORMAL
    )
    posted = {i.account.id for i in items}
    session.execute(
        update(table)
        .where(table.c.id.in_([r.id for r in rows if r.account_id in posted]))
        .values(last_posted=now)
    )
    session.flush()
    return [key]
