"""Customer health of a portfolio, computed from the data as it stands: the
same code serves the nightly job (every account), `/cs risk` (mine / my team)
and the account card (one account). A fixed handful of set-based queries,
whatever the number of accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlmodel import Session

from bot.clock import Clock, local_date
from bot.health.scorecard import DEFAULT_SCORECARD, Scorecard
from bot.health.scoring import Health, HealthInputs, Reason, risk_reasons, score_account
from models import health_queries as q
from models.tables import Account, Member

TREND_DAYS = 30


@dataclass(frozen=True)
class AccountHealth:
    account: q.AccountFacts
    health: Health
    risks: tuple[Reason, ...]  # empty: not at risk

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)

    @property
    def shown_reasons(self) -> tuple[Reason, ...]:
        """The risks, and when no measure is weak enough to be a reason of
        its own, the weakest imperfect one, so the alert still says why."""
        if not self.risks or any(r.key.startswith("measure:") for r in self.risks):
            return self.risks
        scores = {m.key: m.score for m in self.health.measures}
        weakest = [
            r for r in self.health.reasons if r.key.startswith("ok:") and (scores.get(r.key[3:]) or 0) < 100
        ][:1]
        return self.risks + tuple(weakest)

    @property
    def risk_weight(self) -> float:
        """Worst first, weighted by ARR: the points below 100 times the ARR
        (an account with no ARR still sorts by its score)."""
        score = self.health.score if self.health.score is not None else 100
        return (100 - score) * max(self.account.arr_cents, 1)


def evaluate(
    session: Session,
    now: datetime,
    card: Scorecard = DEFAULT_SCORECARD,
    scope: Select[Any] | None = None,
    *,
    tz: str = "UTC",
) -> list[AccountHealth]:
    """Score every account in `scope` (None: all) as of `now`; days (renewal, the
    drop window) count in the team's time zone `tz`, as the snapshots are dated."""
    today = local_date(now, tz)
    facts = q.accounts(session, scope)
    sentiment = card.measure("sentiment")
    nps = card.measure("nps")
    touches = q.recent_touchpoints(session, max(1, int(sentiment.params.get("last", 3))), scope)
    usage = q.latest_usage(session, scope)
    window = timedelta(days=int(nps.params.get("window_days", 90)))
    responses = q.latest_nps(session, now - window, scope)
    escalations = q.open_escalations(session, scope)
    best = q.best_recent_scores(session, today - timedelta(days=card.drop_days), today, scope)
    out: list[AccountHealth] = []
    for account in facts:
        recent = touches.get(account.id, [])
        used = usage.get(account.id)
        response = responses.get(account.id)
        inputs = HealthInputs(
            last_touch_at=recent[0][0] if recent else None,
            sentiments=tuple(s for _, s in recent),
            usage_date=used[0] if used else None,
            active_users=used[1] if used else None,
            licensed_users=used[2] if used else None,
            nps_score=response[0] if response else None,
            nps_respondent=response[1] if response else None,
            nps_at=response[2] if response else None,
            open_escalations=escalations.get(account.id, {}),
        )
        health = score_account(inputs, now, card)
        risks = risk_reasons(
            health,
            today=today,
            renewal_date=account.renewal_date,
            recent_best=best.get(account.id),
            card=card,
        )
        out.append(AccountHealth(account, health, risks))
    return out


def worst_first(items: list[AccountHealth]) -> list[AccountHealth]:
    return sorted(items, key=lambda a: (-a.risk_weight, a.account.name))


def scope_for(session: Session, user_id: str, which: str) -> Select[Any] | None:
    """`mine`: accounts the user is CSM of; `team`: theirs and those of the
    people who report to them (Member.manager_slack_id); `all`: None."""
    if which == "mine":
        return select(Account.id).where(Account.csm_slack_id == user_id)
    if which == "team":
        reports = select(Member.slack_id).where(Member.manager_slack_id == user_id)
        return select(Account.id).where(
            or_(Account.csm_slack_id == user_id, Account.csm_slack_id.in_(reports))
        )
    return None


def has_reports(session: Session, user_id: str) -> bool:
    """Whether anyone reports to `user_id` (Member.manager_slack_id)."""
    found = session.exec(select(Member.slack_id).where(Member.manager_slack_id == user_id).limit(1))
    return found.first() is not None


def at_risk_now(
    session: Session,
    clock: Clock,
    user_id: str,
    which: str,
    card: Scorecard = DEFAULT_SCORECARD,
    *,
    tz: str = "UTC",
) -> list[AccountHealth]:
    """`/cs risk`: the at-risk accounts in scope, live, worst first."""
    scope = scope_for(session, user_id, which)
    return worst_first([a for a in evaluate(session, clock.now(), card, scope, tz=tz) if a.at_risk])


@dataclass(frozen=True)
class AccountHealthView:
    """What the account card shows: today's live health and the 30-day trend."""

    health: AccountHealth | None
    trend: list[tuple[date, int | None]]


def account_health(
    session: Session,
    clock: Clock,
    account_id: int,
    card: Scorecard = DEFAULT_SCORECARD,
    *,
    tz: str = "UTC",
) -> AccountHealthView:
    now = clock.now()
    today = local_date(now, tz)
    scope = select(Account.id).where(Account.id == account_id)
    found = evaluate(session, now, card, scope, tz=tz)
    history = q.score_history(session, today - timedelta(days=TREND_DAYS), scope).get(account_id, [])
    trend = [(d, s) for d, s in history if d < today]
    if found and found[0].health.score is not None:
        trend.append((today, found[0].health.score))
    return AccountHealthView(found[0] if found else None, trend)
