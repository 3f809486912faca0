"""The hand-computed portfolio the metrics tests check against: 12 accounts over
15 months of revenue history, written through the real ledger and renewal code.
Every figure it should give is worked out by hand in tests/test_metrics_portfolio.py.

Amounts are in dollars here (D(...) makes cents). Two CSMs: UANN (Enterprise)
and UBOB (SMB). Time zone UTC. The test looks at Q4 2026 to date, as of
2026-11-30, against Q3 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlmodel import Session

from bot.revenue import ledger, outcomes
from models.tables import Account, Escalation, HealthSnapshot, NpsResponse, Touchpoint, UsageSnapshot

AS_OF = date(2026, 11, 30)


def D(dollars: int) -> int:  # noqa: N802 - reads like a currency sign
    return dollars * 100


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


# name, segment, csm, stage, first revenue (date, dollars), renewal_date, contract_start, seats bought
ACCOUNTS = [
    (
        "Acme",
        "Enterprise",
        "UANN",
        "mature",
        (date(2025, 1, 15), 100_000),
        date(2026, 1, 15),
        date(2025, 1, 15),
        100,
    ),
    ("Beta", "Enterprise", "UANN", "mature", (date(2025, 6, 1), 50_000), date(2026, 10, 15), None, 80),
    ("Gamma", "SMB", "UBOB", "mature", (date(2025, 3, 1), 30_000), date(2026, 11, 5), None, None),
    ("Delta", "SMB", "UBOB", "mature", (date(2025, 8, 1), 20_000), date(2027, 10, 20), None, None),
    ("Epsilon", "Enterprise", "UANN", "adopting", (date(2026, 2, 1), 80_000), date(2027, 2, 1), None, 100),
    ("Zeta", "SMB", "UBOB", "adopting", (date(2026, 8, 15), 40_000), date(2027, 8, 15), None, None),
    ("Eta", "Enterprise", "UANN", "renewing", (date(2025, 4, 1), 60_000), date(2026, 11, 20), None, None),
    ("Theta", "SMB", "UBOB", "mature", (date(2025, 2, 1), 10_000), date(2027, 6, 1), None, None),
    ("Iota", "Enterprise", "UANN", "mature", (date(2025, 5, 1), 70_000), date(2027, 1, 20), None, 100),
    ("Kappa", "SMB", "UBOB", "mature", (date(2025, 10, 1), 15_000), date(2026, 12, 15), None, None),
    ("Lambda", "Enterprise", "UANN", "onboarding", (date(2026, 11, 2), 12_000), date(2027, 11, 2), None, 20),
    ("Mu", "SMB", "UBOB", "mature", (date(2025, 7, 1), 25_000), date(2027, 3, 15), None, None),
]


def build(session: Session) -> dict[str, int]:
    """Write the portfolio; name -> account id."""
    ids: dict[str, int] = {}
    accounts: dict[str, Account] = {}
    for name, segment, csm, stage, (first_day, dollars), renewal, start, seats in ACCOUNTS:
        created = at(first_day, 9)
        account = Account(
            name=name,
            segment=segment,
            csm_slack_id=csm,
            stage=stage,
            renewal_date=renewal,
            contract_start=start,
            licensed_users=seats,
            arr_cents=0,
            created_at=created,
            updated_at=created,
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        ids[name], accounts[name] = account.id, account
        ledger.apply(
            session,
            [ledger.Move(account.id, "new", D(dollars), first_day, "import", ref="import:seed")],
            now=created,
        )
    session.flush()

    def refresh(name: str) -> Account:
        session.refresh(accounts[name])
        return accounts[name]

    # Acme renews flat on its date (renewal moves 2026-01-15 -> 2027-01-15), then a #premier up-sell.
    outcomes.record_outcome(
        session,
        refresh("Acme"),
        "renewed",
        None,
        who="UANN",
        now=at(date(2026, 1, 15)),
        today=date(2026, 1, 15),
    )
    outcomes.record_upsell(
        session,
        refresh("Acme"),
        D(20_000),
        product="premier",
        note="Premier Support & Success",
        who="UANN",
        now=at(date(2026, 10, 10)),
        today=date(2026, 10, 10),
    )
    # Beta downgrades by $10,000 at its renewal (due 2026-10-15, $50,000 due).
    outcomes.record_outcome(
        session,
        refresh("Beta"),
        "downgraded",
        D(10_000),
        who="UANN",
        now=at(date(2026, 10, 15)),
        today=date(2026, 10, 15),
    )
    # Gamma churns at its renewal (due 2026-11-05, $30,000 due).
    outcomes.record_outcome(
        session,
        refresh("Gamma"),
        "churned",
        None,
        who="UBOB",
        now=at(date(2026, 11, 5)),
        today=date(2026, 11, 5),
    )
    # Delta churns mid-contract (billing export), then comes back at $25,000.
    ledger.apply(
        session,
        [ledger.Move(ids["Delta"], "churn", -D(20_000), date(2026, 2, 1), "movements", ref="movements:1")],
        now=at(date(2026, 2, 2)),
    )
    ledger.apply(
        session,
        [
            ledger.Move(
                ids["Delta"], "reactivation", D(25_000), date(2026, 10, 20), "movements", ref="movements:2"
            )
        ],
        now=at(date(2026, 10, 21)),
    )
    # Theta: a $5,000 up-sell in Q3, no product tag.
    outcomes.record_upsell(
        session,
        refresh("Theta"),
        D(5_000),
        product=None,
        note=None,
        who="UBOB",
        now=at(date(2026, 7, 10)),
        today=date(2026, 7, 10),
    )

    # NPS: in the 90 days to 2026-11-30 (from 09-02): promoters 9, 10, 9; passives 7, 8; detractors 3, 6.
    # Outside them: a 0 on 2026-08-01. One deleted response does not count.
    for name, day, score in [
        ("Acme", date(2026, 10, 5), 9),
        ("Epsilon", date(2026, 11, 10), 10),
        ("Iota", date(2026, 11, 28), 9),
        ("Beta", date(2026, 9, 15), 7),
        ("Mu", date(2026, 10, 20), 8),
        ("Eta", date(2026, 11, 1), 3),
        ("Kappa", date(2026, 9, 20), 6),
        ("Theta", date(2026, 8, 1), 0),
    ]:
        session.add(NpsResponse(account_id=ids[name], responded_at=at(day), score=score, created_at=at(day)))
    session.add(
        NpsResponse(
            account_id=ids["Acme"],
            responded_at=at(date(2026, 11, 2)),
            score=0,
            created_at=at(date(2026, 11, 2)),
            deleted_at=at(date(2026, 11, 2), 13),
        )
    )

    # Usage: (account, date, active, provisioned). Eta's only snapshot is stale (> 35 days before 11-30);
    # Gamma's is of a churned account; Acme's older snapshots are superseded.
    for name, day, active, provisioned in [
        ("Acme", date(2026, 9, 20), 50, 100),
        ("Acme", date(2026, 11, 1), 60, 100),
        ("Acme", date(2026, 11, 25), 80, 100),
        ("Beta", date(2026, 11, 20), 30, 50),
        ("Epsilon", date(2026, 11, 28), 90, 100),
        ("Eta", date(2026, 10, 1), 10, 100),
        ("Iota", date(2026, 11, 29), 20, 80),
        ("Gamma", date(2026, 11, 20), 50, 50),
        ("Lambda", date(2026, 11, 20), 5, 20),
    ]:
        session.add(
            UsageSnapshot(account_id=ids[name], date=day, active_users=active, licensed_users=provisioned)
        )

    # Touchpoints (one deleted, not counted).
    for name, when, deleted in [
        ("Acme", at(date(2026, 11, 20)), False),
        ("Beta", at(date(2026, 11, 5)), False),
        ("Epsilon", at(date(2026, 10, 15)), False),
        ("Eta", at(date(2026, 11, 29)), False),
        ("Iota", at(date(2026, 11, 30), 23), False),
        ("Delta", at(date(2026, 10, 31)), False),
        ("Zeta", at(date(2026, 11, 10)), True),
        ("Theta", at(date(2026, 9, 15)), False),
        ("Acme", at(date(2026, 9, 25)), False),
    ]:
        session.add(
            Touchpoint(
                account_id=ids[name],
                author_slack_id="UANN",
                type="call",
                occurred_at=when,
                created_at=when,
                deleted_at=when if deleted else None,
            )
        )

    # Escalations: (account, opened, acknowledged, resolved).
    for name, opened, acked, resolved in [
        ("Acme", at(date(2026, 10, 2), 10), at(date(2026, 10, 2), 10, 30), at(date(2026, 10, 3), 10)),
        ("Eta", at(date(2026, 11, 10), 8), at(date(2026, 11, 10), 10), at(date(2026, 11, 12), 8)),
        ("Iota", at(date(2026, 11, 25), 12), at(date(2026, 11, 25), 12, 15), None),
        ("Beta", at(date(2026, 9, 28), 0), at(date(2026, 9, 28), 1), at(date(2026, 10, 5), 0)),
    ]:
        session.add(
            Escalation(
                account_id=ids[name],
                severity="sev2",
                summary="down",
                owner_slack_id="UANN",
                opened_by="UANN",
                status="resolved" if resolved else "acknowledged",
                opened_at=opened,
                acknowledged_at=acked,
                resolved_at=resolved,
            )
        )

    # Health snapshots: (account, date, score, band, at risk).
    for name, day, score, band, risky in [
        ("Iota", date(2026, 11, 29), 30, "red", True),
        ("Eta", date(2026, 11, 29), 55, "yellow", True),
        ("Kappa", date(2026, 11, 29), 80, "green", False),
        ("Acme", date(2026, 11, 29), 85, "green", False),
        ("Gamma", date(2026, 11, 29), 20, "red", True),
        ("Beta", date(2026, 11, 29), 60, "yellow", False),
        ("Acme", date(2026, 9, 29), 35, "red", True),
        ("Iota", date(2026, 9, 29), 75, "green", False),
    ]:
        session.add(
            HealthSnapshot(
                account_id=ids[name],
                date=day,
                score=score,
                band=band,
                at_risk=risky,
                reasons=[f"score {score} is {band}"] if risky else [],
                measures={},
            )
        )
    session.commit()
    return ids
