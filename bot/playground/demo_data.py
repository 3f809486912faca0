"""The sample portfolio of `csbot demo` and `csbot playground` (PRODUCT.md §7, §7.1).

About fifty accounts in three segments across the five CSMs of bot/playground/team.py,
with twelve weeks of touchpoints, usage, NPS and escalations (open and resolved),
generated from a fixed seed at a fixed moment, so every run writes the same rows
and the demo prints the same text. Some accounts are healthy, some drift, a few are
in trouble: every surface (alerts, the card, /cs risk, Home, pages) has something to
show. Rows are written directly (this is history, not something the bot did now);
revenue history goes through the ARR ledger (see
`revenue_history`), so retention figures have a real past."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from bot.playground.demo_health import health_history
from bot.playground.demo_words import ESCALATION_SUMMARIES, NAMES, NOTES, TYPES
from bot.playground.team import ALERTS, CSMS, ESCALATIONS, LEADERSHIP, TEAM
from bot.revenue import ledger
from bot.revenue.ledger import Move
from models.tables import (
    Account,
    Escalation,
    EscalationEvent,
    Member,
    NpsResponse,
    Subscription,
    Touchpoint,
    UsageSnapshot,
)

SEED = 20261120
TZ = "America/New_York"
# Friday 20 November 2026, 09:00 in New York: the demo's "now" and the playground's first moment.
DEMO_NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
WEEKS = 12

SEGMENTS = (
    ("Enterprise", 10, (180_000, 420_000)),
    ("Mid-Market", 18, (45_000, 140_000)),
    ("SMB", 22, (8_000, 32_000)),
)
# Profiles: how an account has been going (touch rate per week, usage share, NPS range, sentiment bias).
PROFILES = {
    "healthy": (0.9, (0.78, 0.95), (8, 10), 0.5),
    "drifting": (0.35, (0.45, 0.7), (6, 8), 0.0),
    "at_risk": (0.12, (0.15, 0.35), (2, 6), -0.6),
}


@dataclass(frozen=True)
class Planned:
    """One account as generated: the row and how it has been going."""

    account: Account
    profile: str


def _profile(rng: random.Random, index: int) -> str:
    if index == 0:
        return "drifting"  # Northwind, the customer in the shared channel, has something to talk about
    roll = rng.random()
    return "at_risk" if roll < 0.16 else "drifting" if roll < 0.42 else "healthy"


def members(now: datetime) -> list[Member]:
    return [
        Member(
            slack_id=p.slack_id,
            role=p.role,
            manager_slack_id=p.manager,
            name=p.full_name,
            email=p.email,
            created_at=now,
            updated_at=now,
        )
        for p in TEAM
    ]


def plan_accounts(rng: random.Random, now: datetime) -> list[Planned]:
    today = now.date()
    planned: list[Planned] = []
    names = iter(NAMES)
    index = 0
    for segment, count, (low, high) in SEGMENTS:
        for _ in range(count):
            name = next(names)
            csm = CSMS[index % len(CSMS)]
            renewal = today + timedelta(days=rng.randint(10, 360))
            seats = rng.choice((25, 50, 80, 120, 200, 400)) * (4 if segment == "Enterprise" else 1)
            account = Account(
                name=name,
                external_id=f"DEMO-{index + 1:03d}",
                segment=segment,
                csm_slack_id=csm.slack_id,
                arr_cents=rng.randint(low, high) // 500 * 500 * 100,
                renewal_date=renewal,
                contract_start=renewal - timedelta(days=365),
                stage="renewing"
                if (renewal - today).days <= 90
                else rng.choice(("adopting", "mature", "mature")),
                licensed_users=seats,
                created_at=now - timedelta(weeks=WEEKS + 4),
                updated_at=now,
            )
            planned.append(Planned(account, _profile(rng, index)))
            index += 1
    return planned


def touchpoints(rng: random.Random, planned: list[Planned], now: datetime) -> list[Touchpoint]:
    rows: list[Touchpoint] = []
    for item in planned:
        rate, _, _, bias = PROFILES[item.profile]
        for week in range(WEEKS):
            # at-risk accounts went quiet lately: nothing in the last five weeks
            if item.profile == "at_risk" and week < 5:
                continue
            if rng.random() >= rate:
                continue
            when = now - timedelta(weeks=week, days=rng.randint(0, 6), hours=rng.randint(0, 8))
            sentiment = 1 if rng.random() < 0.35 + bias / 2 else -1 if rng.random() < 0.3 - bias / 2 else 0
            rows.append(
                Touchpoint(
                    account_id=item.account.id,
                    author_slack_id=item.account.csm_slack_id or "",
                    type=rng.choice(TYPES),
                    occurred_at=when,
                    note=rng.choice(NOTES[sentiment]),
                    sentiment=sentiment,
                    tags=["renewal"] if item.account.stage == "renewing" and rng.random() < 0.3 else [],
                    created_at=when,
                )
            )
    return rows


def usage(rng: random.Random, planned: list[Planned], now: datetime) -> list[UsageSnapshot]:
    rows: list[UsageSnapshot] = []
    for item in planned:
        low, high = PROFILES[item.profile][1]
        seats = item.account.licensed_users or 50
        provisioned = int(seats * rng.uniform(0.7, 1.0))
        share = rng.uniform(low, high)
        for week in range(WEEKS):
            drift = 0.03 * week if item.profile != "healthy" else 0.0  # slipping lately
            active = max(1, int(provisioned * min(0.98, share + drift) * rng.uniform(0.95, 1.05)))
            rows.append(
                UsageSnapshot(
                    account_id=item.account.id,
                    date=(now - timedelta(weeks=week, days=1)).date(),
                    active_users=min(active, provisioned),
                    licensed_users=provisioned,
                    feature_adoption_pct=round(rng.uniform(20, 90), 1),
                )
            )
    return rows


def nps(rng: random.Random, planned: list[Planned], now: datetime) -> list[NpsResponse]:
    rows: list[NpsResponse] = []
    for item in planned:
        low, high = PROFILES[item.profile][2]
        for _ in range(rng.choice((0, 1, 1, 2))):
            when = now - timedelta(days=rng.randint(3, 80))
            domain = item.account.name.split()[0].lower().strip("'&")
            rows.append(
                NpsResponse(
                    account_id=item.account.id,
                    responded_at=when,
                    score=rng.randint(low, high),
                    respondent=f"{rng.choice(('jane', 'raj', 'li', 'omar', 'ana'))}@{domain}.example",
                    comment=None,
                    recorded_by="import",
                    created_at=when,
                )
            )
    return rows


def escalations(
    rng: random.Random, planned: list[Planned], now: datetime
) -> list[tuple[Escalation, list[EscalationEvent]]]:
    """Six resolved over the twelve weeks, two still open (acknowledged: the policy clock stopped)."""
    troubled = [p for p in planned if p.profile != "healthy"]
    out: list[tuple[Escalation, list[EscalationEvent]]] = []
    for n in range(8):
        item = troubled[(n * 5) % len(troubled)]
        opened = now - timedelta(days=rng.randint(2, WEEKS * 7 - 3), hours=rng.randint(0, 8))
        owner = item.account.csm_slack_id or CSMS[0].slack_id
        severity = ("sev1", "sev2", "sev2", "sev3")[n % 4]
        acked = opened + timedelta(minutes=rng.randint(4, 50))
        resolved = acked + timedelta(hours=rng.randint(2, 60)) if n < 6 else None
        esc = Escalation(
            account_id=item.account.id,
            severity=severity,
            summary=ESCALATION_SUMMARIES[n % len(ESCALATION_SUMMARIES)],
            owner_slack_id=owner,
            opened_by=CSMS[(n + 1) % len(CSMS)].slack_id,
            status="resolved" if resolved else "acknowledged",
            level=0,
            channel_id=None,
            thread_ts=None,
            policy={},
            step=0,
            next_page_at=None,
            opened_at=opened,
            acknowledged_at=acked,
            acknowledged_by=owner,
            resolved_at=resolved,
            resolved_by=owner if resolved else None,
            resolution="Fixed and confirmed with the customer" if resolved else None,
        )
        events = [("opened", opened, {"owner": owner}), ("acknowledged", acked, {})]
        if resolved:
            events.append(("resolved", resolved, {"note": esc.resolution}))
        out.append(
            (
                esc,
                [
                    EscalationEvent(escalation_id=0, at=at, actor_slack_id=owner, kind=kind, detail=detail)
                    for kind, at, detail in events
                ],
            )
        )
    return out


def subscriptions(now: datetime) -> list[Subscription]:
    """Alerts to #cs-alerts every morning; the digest to #cs-leadership on Mondays at 09:00."""
    admin = next(p.slack_id for p in TEAM if p.role == "admin")
    return [
        Subscription(
            channel_id=ALERTS.id,
            kind="alerts",
            time_of_day="08:00",
            tz=TZ,
            created_by=admin,
            created_at=now - timedelta(weeks=WEEKS),
        ),
        Subscription(
            channel_id=LEADERSHIP.id,
            kind="digest",
            day=0,
            time_of_day="09:00",
            tz=TZ,
            created_by=admin,
            created_at=now - timedelta(weeks=WEEKS),
        ),
    ]


def revenue_history(session: Session, rng: random.Random, planned: list[Planned], now: datetime) -> int:
    """ARR movements through the ARR ledger (PRODUCT.md §6.0), which keeps each
    Account.arr_cents equal to the sum of its movements: a `new` at each customer's
    start (most a year or more ago, a few new logos this quarter), expansions on a
    quarter of the healthy accounts (some of them Premier Support & Success), one
    downgrade at renewal and one churn. Returns how many movements were written."""
    admin = next(p.slack_id for p in TEAM if p.role == "admin")
    today = now.date()
    moves: list[Move] = []
    healthy = [p for p in planned if p.profile == "healthy"]
    drifting = [p for p in planned if p.profile == "drifting" and p.account.name != NAMES[0]]
    at_risk = [p for p in planned if p.profile == "at_risk"]
    for n, item in enumerate(planned):
        acc = item.account
        start = acc.contract_start or today
        since = start - timedelta(days=365 * rng.choice((1, 1, 2, 3, 4))) if n % 9 else start
        if n % 9 == 0 and (today - start).days > WEEKS * 7:
            since = today - timedelta(days=rng.randint(14, WEEKS * 7))  # a new logo this quarter
            acc.contract_start = since
        moves.append(Move(acc.id or 0, "new", acc.arr_cents, since, "backfill", who=admin))
        acc.arr_cents = 0  # the ledger adds it back: ARR is the sum of the movements
    for n, item in enumerate(healthy[::4]):
        amount = item.account.licensed_users or 50
        moves.append(
            Move(
                item.account.id or 0,
                "expansion",
                amount * 12 * 100 * rng.randint(5, 20),
                today - timedelta(days=rng.randint(3, WEEKS * 7)),
                "upsell",
                product="premier" if n % 3 == 0 else None,
                note="More seats",
                who=item.account.csm_slack_id,
            )
        )
    downgraded = drifting[-1]
    new_arr = next(m.amount_cents for m in moves if m.account_id == downgraded.account.id and m.kind == "new")
    moves.append(
        Move(
            downgraded.account.id or 0,
            "contraction",
            -(new_arr // 4 // 100 * 100),
            today - timedelta(days=33),
            "renewal",
            note="Downgraded at renewal",
            who=admin,
        )
    )
    churned = at_risk[-1]
    churned_arr = sum(m.amount_cents for m in moves if m.account_id == churned.account.id)
    moves.append(
        Move(
            churned.account.id or 0,
            "churn",
            -churned_arr,
            today - timedelta(days=19),
            "renewal",
            note="Moved to a competitor",
            who=admin,
        )
    )
    session.flush()
    ledger.apply(session, moves, now=now)
    return len(moves)


def seed(session: Session, *, now: datetime = DEMO_NOW) -> dict[str, int]:
    """Write the whole sample portfolio into an empty database; returns row counts."""
    rng = random.Random(SEED)
    session.add_all(members(now))
    planned = plan_accounts(rng, now)
    session.add_all([p.account for p in planned])
    session.flush()
    tps, snaps, responses = touchpoints(rng, planned, now), usage(rng, planned, now), nps(rng, planned, now)
    session.add_all([*tps, *snaps, *responses])
    escs = escalations(rng, planned, now)
    for esc, _ in escs:
        session.add(esc)
    session.flush()
    for esc, events in escs:
        for event in events:
            event.escalation_id = esc.id or 0
            session.add(event)
    session.add_all(subscriptions(now))
    movements = revenue_history(session, rng, planned, now)
    session.flush()
    profiles = {p.account.id or 0: p.profile for p in planned}
    snapshots = health_history(session, now, TZ, profiles, SEED)
    return {
        "accounts": len(planned),
        "touchpoints": len(tps),
        "usage snapshots": len(snaps),
        "NPS responses": len(responses),
        "escalations": len(escs),
        "ARR movements": movements,
        "health snapshots": snapshots,
    }


def demo_today() -> date:
    return DEMO_NOW.date()


ESCALATION_CHANNEL = ESCALATIONS.id
