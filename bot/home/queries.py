"""The Home tab's reads (PRODUCT.md §2.1): each one ONE set-based statement for
the person's scope, so a desk costs the same handful of statements whether the
portfolio holds ten accounts or ten thousand (§9).

Health comes from each live account's latest HealthSnapshot (what the nightly job
decided), the same source as the director's figures, so the desk and the digest
never disagree about who is at risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from bot.health.latest import flagged, newest_snapshot
from models.tables import Account, Escalation, HealthSnapshot, Touchpoint

SEVERITY_ORDER = {"sev1": 0, "sev2": 1, "sev3": 2}


def live() -> Any:
    """Churned accounts leave the live portfolio (§6.0) and the desk."""
    return or_(Account.stage.is_(None), Account.stage != "churned")


def risk_weight(score: int | None, arr_cents: int) -> int:
    """Worst first, ARR-weighted, as the alerts and the digest sort."""
    return (100 - (score if score is not None else 100)) * max(arr_cents, 1)


# --- a CSM's book -----------------------------------------------------------------


@dataclass(frozen=True)
class BookAccount:
    id: int
    name: str
    arr_cents: int
    renewal_date: date | None
    score: int | None
    band: str | None
    at_risk: bool
    reasons: tuple[str, ...]
    last_touch: datetime | None


def book(session: Session, csm: str) -> list[BookAccount]:
    """Every live account `csm` owns with its latest health and last touchpoint
    (one statement). The newest snapshot and touchpoint are looked up per account
    through their indexes, so the cost follows the size of the book, not of the
    portfolio (a grouped scan of every snapshot would not)."""
    last_touch = (
        select(func.max(Touchpoint.occurred_at))
        .where(Touchpoint.account_id == Account.id, Touchpoint.deleted_at.is_(None))
        .correlate(Account)
        .scalar_subquery()
    )
    stmt = (
        select(
            Account.id,
            Account.name,
            Account.arr_cents,
            Account.renewal_date,
            HealthSnapshot.score,
            HealthSnapshot.band,
            flagged(),
            HealthSnapshot.reasons,
            last_touch,
        )
        .outerjoin(HealthSnapshot, newest_snapshot())
        .where(Account.csm_slack_id == csm, live())
        .order_by(Account.name)
    )
    return [
        BookAccount(i, name, arr or 0, renewal, score, band, bool(flagged), tuple(reasons or ()), at)
        for i, name, arr, renewal, score, band, flagged, reasons, at in session.execute(stmt)
    ]


@dataclass(frozen=True)
class OpenEscalation:
    id: int
    severity: str
    status: str  # open (waiting for acknowledgement) / acknowledged
    summary: str
    account_name: str
    owner: str
    opened_at: datetime


def escalations_for(session: Session, user: str) -> list[OpenEscalation]:
    """The unresolved escalations the user owns or that are on their accounts,
    most severe first, then oldest (one statement)."""
    sev = case(SEVERITY_ORDER, value=Escalation.severity, else_=9)
    stmt = (
        select(
            Escalation.id,
            Escalation.severity,
            Escalation.status,
            Escalation.summary,
            Account.name,
            Escalation.owner_slack_id,
            Escalation.opened_at,
        )
        .join(Account, Account.id == Escalation.account_id)
        .where(
            Escalation.status != "resolved",
            or_(Escalation.owner_slack_id == user, Account.csm_slack_id == user),
        )
        .order_by(sev, Escalation.opened_at, Escalation.id)
    )
    return [OpenEscalation(*row) for row in session.execute(stmt)]


# --- the director's team view ------------------------------------------------------


@dataclass(frozen=True)
class CsmRisk:
    csm: str | None
    accounts: int
    arr_cents: int


@dataclass(frozen=True)
class SeverityAges:
    severity: str
    waiting: int  # not yet acknowledged
    acknowledged: int
    under_day: int
    under_week: int
    older: int
    oldest: datetime | None


def escalations_by_severity(session: Session, now: datetime) -> list[SeverityAges]:
    """Unresolved escalations per severity, by state and by age (one statement)."""
    day, week = now - timedelta(days=1), now - timedelta(days=7)

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = (
        select(
            Escalation.severity,
            n(Escalation.status == "open"),
            n(Escalation.status == "acknowledged"),
            n(Escalation.opened_at >= day),
            n(and_(Escalation.opened_at < day, Escalation.opened_at >= week)),
            n(Escalation.opened_at < week),
            func.min(Escalation.opened_at),
        )
        .where(Escalation.status != "resolved")
        .group_by(Escalation.severity)
    )
    rows = [
        SeverityAges(sev, int(w or 0), int(a or 0), int(d or 0), int(wk or 0), int(o or 0), oldest)
        for sev, w, a, d, wk, o, oldest in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: SEVERITY_ORDER.get(r.severity, 9))


@dataclass(frozen=True)
class RenewalAtRisk:
    id: int
    name: str
    csm: str | None
    renewal_date: date
    arr_cents: int
    score: int | None
    band: str | None


@dataclass(frozen=True)
class RenewalsAtRisk:
    rows: list[RenewalAtRisk]  # the first `limit`, soonest first
    count: int
    arr_cents: int


def renewals_at_risk(session: Session, start: date, end: date, *, limit: int) -> RenewalsAtRisk:
    """Live at-risk accounts renewing in [start, end], soonest first, with the
    count and ARR of all of them (one statement: window totals)."""
    stmt = (
        select(
            Account.id,
            Account.name,
            Account.csm_slack_id,
            Account.renewal_date,
            Account.arr_cents,
            HealthSnapshot.score,
            HealthSnapshot.band,
            func.count().over().label("n"),
            func.sum(Account.arr_cents).over().label("arr"),
        )
        .join(HealthSnapshot, newest_snapshot())
        .where(
            flagged().is_(True),
            live(),
            Account.renewal_date >= start,
            Account.renewal_date <= end,
        )
        .order_by(Account.renewal_date, Account.arr_cents.desc(), Account.name)
        .limit(limit)
    )
    rows, count, arr = [], 0, 0
    for i, name, csm, renewal, acct_arr, score, band, n, total in session.execute(stmt):
        rows.append(RenewalAtRisk(i, name, csm, renewal, acct_arr or 0, score, band))
        count, arr = int(n), int(total or 0)
    return RenewalsAtRisk(rows, count, arr)
