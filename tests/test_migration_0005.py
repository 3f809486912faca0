"""Revision 0005 (Outbox delivery bookkeeping): upgrades with data in place."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.migrate import revision_before, upgrade
from models.tables import Outbox

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_upgrade_keeps_queued_rows_and_gives_them_lanes(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, revision_before("0005"))
        with engine.begin() as conn:
            for key, channel, dm_user, update_key, state in [
                ("k-chan", "CESC", None, None, "pending"),
                ("k-dm", None, "UCSM1", None, "sent"),
                ("k-upd", None, None, "k-chan", "dead"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO outbox (key, method, channel, dm_user, update_key, payload, priority,"
                        " state, attempts, next_attempt_at, created_at)"
                        " VALUES (:key, 'chat.postMessage', :channel, :dm_user, :update_key,"
                        ' \'{"text": "hi"}\','
                        " 1, :state, 2, :now, :now)"
                    ),
                    dict(
                        key=key,
                        channel=channel,
                        dm_user=dm_user,
                        update_key=update_key,
                        state=state,
                        now=NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW,
                    ),
                )
        upgrade(engine)
        with Session(engine) as session:
            rows = {r.key: r for r in session.exec(select(Outbox)).all()}
        assert {
            k: (r.lane, r.state, r.attempts, r.payload, r.in_doubt, r.failures) for k, r in rows.items()
        } == {
            "k-chan": ("CESC", "pending", 2, {"text": "hi"}, False, 0),
            "k-dm": ("dm:UCSM1", "sent", 2, {"text": "hi"}, False, 0),
            "k-upd": ("upd:k-chan", "dead", 2, {"text": "hi"}, False, 0),
        }
        assert rows["k-chan"].next_attempt_at == NOW
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
