"""The nightly health job (PRODUCT.md §4): a HealthSnapshot for every account,
the at-risk decision, Alert rows kept open/closed, and one message per
`alerts` subscription listing what changed (newly at risk, or a new reason),
worst first by ARR. Everything is written in one transaction, Outbox rows
included, with a fixed number of statements whatever the portfolio size.

Alert.reasons holds the *keys* of the reasons that were alerted ("red",
"renewal", "drop", "measure:recency", ...), so that a reason whose words move
every day ("no touchpoint in 47 days" → "48 days") is not news, while a reason
that was not there before is."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.blocks.health import risk_alert_message
from bot.clock import Clock
from bot.health import AccountHealth, evaluate, worst_first
from bot.outbox import NORMAL, enqueue
from bot.scorecard import Scorecard, load_scorecard
from bot.settings import Settings
from jobs.registry import JobSpec, daily_at
from models.db import session_scope
from models.tables import Alert, HealthSnapshot, Subscription

log = logging.getLogger(__name__)
ALERT_KIND = "at_risk"
JOB_ID = "health"  # the scheduler's job id (one run per local day of settings.tz)
RUN_AT = "07:00"  # local time in settings.tz: the alerts land at the start of the team's day


@dataclass
class HealthRunResult:
    accounts: int = 0
    at_risk: int = 0
    alerted: list[int] = field(default_factory=list)  # account ids that are news this run
    closed: int = 0
    messages: list[str] = field(default_factory=list)  # Outbox keys queued

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
    """Score every account, keep the alerts, queue the alert messages. Safe to
    run twice a day: today's snapshots are replaced and unchanged alerts stay quiet."""
    card = card or load_scorecard(settings.scorecard_path)
    with session_scope(engine) as session:
        return health_pass(session, clock, card)


def scheduled_health(session: Session, clock: Clock, settings: Settings) -> HealthRunResult:
    """The scheduled run: `health_pass` inside the scheduler's JobRun transaction, so
    the snapshots, the alert changes and their Outbox rows commit exactly once per day
    (a failed run leaves nothing behind and is retried)."""
    return health_pass(session, clock, load_scorecard(settings.scorecard_path))


def job_specs(settings: Settings, engine: Engine) -> list[JobSpec]:
    """The scheduler's entry (jobs.registry.JOB_MODULES): daily at RUN_AT in settings.tz."""
    return [JobSpec(JOB_ID, daily_at(RUN_AT, settings.tz), scheduled_health, kwargs={"settings": settings})]


def health_pass(session: Session, clock: Clock, card: Scorecard) -> HealthRunResult:
    now = clock.now()
    today = now.date()
    results = evaluate(session, now, card)
    result = HealthRunResult(accounts=len(results), at_risk=sum(1 for r in results if r.at_risk))
    _write_snapshots(session, today, results)
    news = _update_alerts(session, now, results, result)
    if news:
        _queue_messages(session, clock, today, news, result)
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
        select(table.c.id, table.c.account_id, table.c.reasons, table.c.snoozed_until, table.c.last_posted)
        .where(table.c.state == "open", table.c.kind == ALERT_KIND)
        .order_by(table.c.id)
    ).all()
    open_alerts = {row.account_id: row for row in open_rows}  # the newest wins if there were two
    inserts: list[dict[str, Any]] = []
    # every change to an existing alert goes in ONE executemany: (state, reasons, last_posted, snoozed_until)
    changes: list[dict[str, Any]] = []

    def change(
        row: Any,
        *,
        state: str = "open",
        reasons: list[str] | None = None,
        posted: bool = False,
        snoozed_until: datetime | None = None,
    ) -> None:
        changes.append(
            {
                "b_id": row.id,
                "b_state": state,
                "b_reasons": row.reasons if reasons is None else reasons,
                "b_last_posted": now if posted else row.last_posted,
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
                    "last_posted": now,
                    "snoozed_until": None,
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
            change(alert, reasons=keys, posted=True)
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
                last_posted=bindparam("b_last_posted"),
                snoozed_until=bindparam("b_snoozed_until"),
            ),
            changes,
        )
    result.alerted = [r.account.id for r in news]
    return worst_first(news)


def matches(subscription: Subscription, item: AccountHealth) -> bool:
    """A subscription's filter: a segment and/or a CSM (None matches all)."""
    if (
        subscription.filter_segment
        and (item.account.segment or "").lower() != subscription.filter_segment.lower()
    ):
        return False
    return not (subscription.filter_csm and item.account.csm_slack_id != subscription.filter_csm)


def _queue_messages(
    session: Session, clock: Clock, today: date, news: list[AccountHealth], result: HealthRunResult
) -> None:
    subscriptions = session.execute(
        select(Subscription).where(Subscription.kind == "alerts").order_by(Subscription.id)
    ).scalars()
    for subscription in subscriptions:
        items = [item for item in news if matches(subscription, item)]
        if not items:
            continue
        text, blocks = risk_alert_message(items, today=today)
        # Same news queued twice (a re-run) is one message; other news the same day is another.
        digest = hashlib.sha256(
            "|".join(f"{i.account.id}:{','.join(x.key for x in i.risks)}" for i in items).encode()
        ).hexdigest()[:10]
        key = f"alerts:{subscription.channel_id}:{today.isoformat()}:{digest}"
        enqueue(
            session,
            clock,
            key=key,
            text=text,
            blocks=blocks,
            channel=subscription.channel_id,
            priority=NORMAL,
        )
        result.messages.append(key)
