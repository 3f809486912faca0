"""Revision 0007 (the ARR ledger): upgrades a database with accounts, renewals
and up-sells in place, and leaves every account's ARR equal to the sum of its
live movements, with the old renewal and up-sell rows applied as movements."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, text
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.migrate import revision_before, upgrade
from models.tables import Account, ArrMovement, Expansion, HealthSnapshot, RenewalEvent

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_upgrade_backfills_the_ledger_from_accounts_renewals_and_upsells(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)

    def at(when: datetime) -> datetime:
        return when.replace(tzinfo=None) if engine.dialect.name == "sqlite" else when

    try:
        upgrade(engine, revision_before("0007"))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO account (id, name, arr_cents, stage, contract_start, created_at, updated_at)"
                    " VALUES"
                    " (1, 'Acme', 1000000, 'mature', '2025-03-01', :now, :now),"  # up-sold, then downgraded
                    " (2, 'Beta', 500000, 'renewing', NULL, :created, :now),"  # churned
                    " (3, 'Gamma', 0, 'onboarding', NULL, :now, :now),"  # no ARR: no movement
                    " (4, 'Delta', 200000, 'mature', '2024-01-15', :now, :now)"  # renewed higher
                ),
                {"now": at(NOW), "created": at(datetime(2025, 6, 2, 23, 0, tzinfo=UTC))},
            )
            rows = [
                ("expansion", 1, 250000, "#Premier support", datetime(2026, 5, 1, tzinfo=UTC), None),
                ("renewalevent:downgraded", 1, 300000, None, datetime(2026, 9, 1, tzinfo=UTC), None),
                ("renewalevent:churned", 2, 500000, None, datetime(2026, 10, 1, tzinfo=UTC), None),
                ("renewalevent:renewed", 4, 260000, None, datetime(2026, 1, 15, tzinfo=UTC), None),
                ("expansion", 4, 99999, "undone", datetime(2026, 2, 1, tzinfo=UTC), NOW),
            ]
            for table, account, cents, note, occurred, deleted in rows:
                if table == "expansion":
                    conn.execute(
                        text(
                            "INSERT INTO expansion (account_id, amount_cents, note, occurred_at, recorded_by,"
                            " created_at, deleted_at) VALUES (:a, :c, :n, :o, 'U1', :o, :d)"
                        ),
                        dict(a=account, c=cents, n=note, o=at(occurred), d=at(deleted) if deleted else None),
                    )
                else:
                    conn.execute(
                        text(
                            "INSERT INTO renewalevent (account_id, outcome, amount_cents, occurred_at,"
                            " recorded_by, created_at) VALUES (:a, :out, :c, :o, 'U1', :o)"
                        ),
                        dict(a=account, out=table.split(":")[1], c=cents, o=at(occurred)),
                    )
            conn.execute(
                text(
                    "INSERT INTO healthsnapshot (account_id, date, score, band, reasons, measures) VALUES"
                    " (1, '2026-11-19', 30, 'red', '[]', '{}'), (4, '2026-11-19', 80, 'green', '[]', '{}')"
                )
            )
        upgrade(engine)
        with Session(engine) as session:
            accounts = {a.name: (a.arr_cents, a.stage) for a in session.exec(select(Account))}
            moves = [
                (m.account_id, m.kind, m.amount_cents, m.effective_date, m.source, m.ref)
                for m in session.exec(select(ArrMovement).order_by(ArrMovement.id))
            ]
            sums = dict(
                session.execute(
                    select(ArrMovement.account_id, func.sum(ArrMovement.amount_cents))
                    .where(ArrMovement.deleted_at.is_(None))
                    .group_by(ArrMovement.account_id)
                ).all()
            )
            renewals = [
                (r.account_id, r.outcome, r.due_date, r.arr_due_cents, r.prior_stage)
                for r in session.exec(select(RenewalEvent).order_by(RenewalEvent.id))
            ]
            products = [e.product for e in session.exec(select(Expansion).order_by(Expansion.id))]
            at_risk = [h.at_risk for h in session.exec(select(HealthSnapshot).order_by(HealthSnapshot.id))]
        # Acme: 10,000 + 2,500 up-sell − 3,000 downgrade = 9,500. Beta: 5,000 − 5,000 churn = 0.
        # Delta: 2,000, renewed at 2,600 (+600); the undone up-sell is not applied.
        assert accounts == {
            "Acme": (950000, "mature"),
            "Beta": (0, "churned"),
            "Gamma": (0, "onboarding"),
            "Delta": (260000, "mature"),
        }
        assert moves == [
            (1, "new", 1000000, date(2025, 3, 1), "backfill", None),
            (1, "expansion", 250000, date(2026, 5, 1), "backfill", "expansion:1"),
            (1, "contraction", -300000, date(2026, 9, 1), "backfill", "renewalevent:1"),
            (2, "new", 500000, date(2025, 6, 2), "backfill", None),
            (2, "churn", -500000, date(2026, 10, 1), "backfill", "renewalevent:2"),
            (4, "new", 200000, date(2024, 1, 15), "backfill", None),
            (4, "expansion", 60000, date(2026, 1, 15), "backfill", "renewalevent:3"),
        ]
        assert sums == {1: 950000, 2: 0, 4: 260000}
        assert renewals == [
            (1, "downgraded", date(2026, 9, 1), 1250000, "mature"),
            (2, "churned", date(2026, 10, 1), 500000, "renewing"),
            (4, "renewed", date(2026, 1, 15), 200000, "mature"),
        ]
        assert products == ["premier", None]
        assert at_risk == [True, False]
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
