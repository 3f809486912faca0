"""Revision 0006 (alerts at each subscription's time): upgrades with alerts and
subscriptions in place, backfills when each alert was news and each alerts
channel's watermark so that no old news is posted again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.migrate import revision_before, upgrade
from models.tables import Alert, Subscription

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_upgrade_keeps_alerts_and_subscriptions_and_backfills_the_news_times(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)

    def at(when: datetime | None) -> datetime | None:
        return when.replace(tzinfo=None) if when is not None and engine.dialect.name == "sqlite" else when

    try:
        upgrade(engine, revision_before("0006"))
        posted = NOW - timedelta(days=1)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO account (id, name, arr_cents, stage, created_at, updated_at)"
                    " VALUES (1, 'Acme', 100, 'active', :now, :now), (2, 'Beta', 100, 'active', :now, :now)"
                ),
                {"now": at(NOW)},
            )
            for account, state, first_seen, last_posted, snoozed in [
                (1, "open", NOW - timedelta(days=5), posted, None),
                (2, "closed", NOW - timedelta(days=9), None, NOW + timedelta(days=2)),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO alert (account_id, kind, reasons, state, first_seen, last_posted,"
                        " snoozed_until) VALUES (:account, 'at_risk', '[\"red\"]', :state, :first_seen,"
                        " :last_posted, :snoozed)"
                    ),
                    dict(
                        account=account,
                        state=state,
                        first_seen=at(first_seen),
                        last_posted=at(last_posted),
                        snoozed=at(snoozed),
                    ),
                )
            for channel, kind, created in [
                ("COLD", "alerts", NOW - timedelta(days=30)),  # before the newest news
                ("CNEW", "alerts", NOW),  # after it
                ("CDIG", "digest", NOW - timedelta(days=30)),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO subscription (channel_id, kind, time_of_day, tz, created_by, created_at)"
                        " VALUES (:channel, :kind, '08:00', 'Europe/Paris', 'UADMIN', :created)"
                    ),
                    dict(channel=channel, kind=kind, created=at(created)),
                )
        upgrade(engine)
        with Session(engine) as session:
            alerts = session.exec(select(Alert).order_by(Alert.id)).all()
            subs = {s.channel_id: s for s in session.exec(select(Subscription)).all()}
        assert [
            (a.account_id, a.state, a.reasons, a.first_seen, a.last_posted, a.snoozed_until, a.news_at)
            for a in alerts
        ] == [
            (1, "open", ["red"], NOW - timedelta(days=5), posted, None, posted),
            (
                2,
                "closed",
                ["red"],
                NOW - timedelta(days=9),
                None,
                NOW + timedelta(days=2),
                NOW - timedelta(days=9),
            ),
        ]
        assert {
            c: (s.kind, s.time_of_day, s.tz, s.created_at, s.alerts_posted_through) for c, s in subs.items()
        } == {
            "COLD": ("alerts", "08:00", "Europe/Paris", NOW - timedelta(days=30), posted),
            "CNEW": ("alerts", "08:00", "Europe/Paris", NOW, NOW),
            "CDIG": ("digest", "08:00", "Europe/Paris", NOW - timedelta(days=30), None),
        }
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
