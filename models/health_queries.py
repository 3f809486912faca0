"""Set-based queries for customer health: each reads one fact for the whole
portfolio (or for the accounts a `scope` selects) in ONE statement, so the
nightly job and `/cs risk` issue the same handful of queries whether there
are ten accounts or ten thousand (PRODUCT.md §9: no query per account)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlmodel import Session

from models.tables import Account, Escalation, HealthSnapshot, NpsResponse, Touchpoint, UsageSnapshot


@dataclass(frozen=True)
class AccountFacts:
    id: int
    name: str
    segment: str | None
    csm_slack_id: str | None
    arr_cents: int
    renewal_date: date | None
    stage: str | None


def _scoped(stmt: Select[Any], column: Any, scope: Select[Any] | None) -> Select[Any]:
    return stmt if scope is None else stmt.where(column.in_(scope))


def accounts(session: Session, scope: Select[Any] | None = None) -> list[AccountFacts]:
    """Every account (or those in `scope`, a SELECT of account ids), churned ones left out."""
    stmt = select(
        Account.id,
        Account.name,
        Account.segment,
        Account.csm_slack_id,
        Account.arr_cents,
        Account.renewal_date,
        Account.stage,
    ).where((Account.stage.is_(None)) | (Account.stage != "churned"))
    return [AccountFacts(*row) for row in session.execute(_scoped(stmt, Account.id, scope))]


def recent_touchpoints(
    session: Session, last: int, scope: Select[Any] | None = None
) -> dict[int, list[tuple[datetime, int]]]:
    """account id -> its `last` newest touchpoints (occurred_at, sentiment), newest first."""
    rank = (
        func.row_number()
        .over(
            partition_by=Touchpoint.account_id, order_by=(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        )
        .label("rn")
    )
    inner = _scoped(
        select(Touchpoint.account_id, Touchpoint.occurred_at, Touchpoint.sentiment, rank).where(
            Touchpoint.deleted_at.is_(None)
        ),
        Touchpoint.account_id,
        scope,
    ).subquery()
    stmt = select(inner.c.account_id, inner.c.occurred_at, inner.c.sentiment).where(inner.c.rn <= last)
    out: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for account_id, occurred_at, sentiment in session.execute(stmt.order_by(inner.c.account_id, inner.c.rn)):
        out[account_id].append((occurred_at, sentiment))
    return out


def latest_usage(session: Session, scope: Select[Any] | None = None) -> dict[int, tuple[date, int, int]]:
    """account id -> (date, active_users, licensed_users) of its newest usage snapshot."""
    newest = _scoped(
        select(UsageSnapshot.account_id, func.max(UsageSnapshot.date).label("d")).group_by(
            UsageSnapshot.account_id
        ),
        UsageSnapshot.account_id,
        scope,
    ).subquery()
    stmt = select(
        UsageSnapshot.account_id, UsageSnapshot.date, UsageSnapshot.active_users, UsageSnapshot.licensed_users
    ).join(newest, and_(UsageSnapshot.account_id == newest.c.account_id, UsageSnapshot.date == newest.c.d))
    return {row[0]: (row[1], row[2], row[3]) for row in session.execute(stmt)}


def latest_nps(
    session: Session, since: datetime, scope: Select[Any] | None = None
) -> dict[int, tuple[int, str | None, datetime]]:
    """account id -> (score, respondent, responded_at) of its newest response since `since`."""
    rank = (
        func.row_number()
        .over(
            partition_by=NpsResponse.account_id,
            order_by=(NpsResponse.responded_at.desc(), NpsResponse.id.desc()),
        )
        .label("rn")
    )
    inner = _scoped(
        select(
            NpsResponse.account_id,
            NpsResponse.score,
            NpsResponse.respondent,
            NpsResponse.responded_at,
            rank,
        ).where(NpsResponse.deleted_at.is_(None), NpsResponse.responded_at >= since),
        NpsResponse.account_id,
        scope,
    ).subquery()
    stmt = select(inner.c.account_id, inner.c.score, inner.c.respondent, inner.c.responded_at).where(
        inner.c.rn == 1
    )
    return {row[0]: (row[1], row[2], row[3]) for row in session.execute(stmt)}


def open_escalations(session: Session, scope: Select[Any] | None = None) -> dict[int, dict[str, int]]:
    """account id -> {severity: number of escalations not yet resolved}."""
    stmt = _scoped(
        select(Escalation.account_id, Escalation.severity, func.count())
        .where(Escalation.status != "resolved")
        .group_by(Escalation.account_id, Escalation.severity),
        Escalation.account_id,
        scope,
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for account_id, severity, n in session.execute(stmt):
        out[account_id][severity] = n
    return out


def best_recent_scores(
    session: Session, since: date, before: date, scope: Select[Any] | None = None
) -> dict[int, int]:
    """account id -> its highest snapshot score dated in [since, before): the
    baseline for the 'dropped 20 points in 7 days' rule."""
    stmt = _scoped(
        select(HealthSnapshot.account_id, func.max(HealthSnapshot.score))
        .where(HealthSnapshot.date >= since, HealthSnapshot.date < before, HealthSnapshot.score.is_not(None))
        .group_by(HealthSnapshot.account_id),
        HealthSnapshot.account_id,
        scope,
    )
    return {account_id: score for account_id, score in session.execute(stmt)}


def score_history(
    session: Session, since: date, scope: Select[Any] | None = None
) -> dict[int, list[tuple[date, int | None]]]:
    """account id -> [(date, score)] oldest first, from `since` on (the card's 30-day trend)."""
    stmt = _scoped(
        select(HealthSnapshot.account_id, HealthSnapshot.date, HealthSnapshot.score)
        .where(HealthSnapshot.date >= since)
        .order_by(HealthSnapshot.account_id, HealthSnapshot.date),
        HealthSnapshot.account_id,
        scope,
    )
    out: dict[int, list[tuple[date, int | None]]] = defaultdict(list)
    for account_id, day, score in session.execute(stmt):
        out[account_id].append((day, score))
    return out
