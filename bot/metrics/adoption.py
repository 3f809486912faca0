"""Adoption and deployment (PRODUCT.md §6.1), from each live account's latest
usage snapshot within 35 days of the period's end (one statement per day asked).

- Adoption: the ARR-weighted mean of active / provisioned users.
- Deployment: the share of live accounts past onboarding whose provisioned
  users (UsageSnapshot.licensed_users) are at least 80 % of the seats bought
  (Account.licensed_users); accounts without seats bought or a recent snapshot
  cannot be judged and are left out of the share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Select, and_, func, select
from sqlmodel import Session

from bot.metrics.frame import AccountRow, rows, scoped
from models.tables import UsageSnapshot

FRESH_DAYS = 35
DEPLOYED = 0.8


def latest_usage(session: Session, end: date, scope: Select | None) -> dict[int, tuple[int, int]]:
    """account id -> (active_users, provisioned users) of its newest snapshot in (end − 35 days, end]."""
    newest = scoped(
        select(UsageSnapshot.account_id, func.max(UsageSnapshot.date).label("d"))
        .where(UsageSnapshot.date > end - timedelta(days=FRESH_DAYS), UsageSnapshot.date <= end)
        .group_by(UsageSnapshot.account_id),
        UsageSnapshot.account_id,
        scope,
    ).subquery()
    stmt = select(UsageSnapshot.account_id, UsageSnapshot.active_users, UsageSnapshot.licensed_users).join(
        newest, and_(UsageSnapshot.account_id == newest.c.account_id, UsageSnapshot.date == newest.c.d)
    )
    return {a: (int(act or 0), int(lic or 0)) for a, act, lic in rows(session, stmt)}


def adoption(
    accounts: Sequence[AccountRow], usage: dict[int, tuple[int, int]], end: date
) -> tuple[float | None, str | None]:
    weight = total = 0.0
    for a in accounts:
        used = usage.get(a.id)
        if not a.live(end) or used is None or used[1] <= 0:
            continue
        arr = a.arr[end]
        weight += arr
        total += arr * used[0] / used[1]
    if weight <= 0:
        return None, f"no live account with ARR has a usage snapshot in the last {FRESH_DAYS} days"
    return total / weight, None


def deployment(
    accounts: Sequence[AccountRow], usage: dict[int, tuple[int, int]], end: date
) -> tuple[float | None, str | None]:
    judged = deployed = 0
    for a in accounts:
        used = usage.get(a.id)
        if not a.live(end) or a.stage == "onboarding" or used is None or not a.licensed_users:
            continue
        judged += 1
        deployed += used[1] >= DEPLOYED * a.licensed_users
    if judged == 0:
        return None, (
            "no live account past onboarding has seats bought and a usage snapshot "
            f"in the last {FRESH_DAYS} days"
        )
    return deployed / judged, None
