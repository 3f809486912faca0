"""Revision 0009 (pages are never lost): upgrades with queued, sent and dead rows in
place and backfills their order key, the row each needs first, the escalation a
page belongs to, and marks dead rows as already shown (no flood of old reports)."""

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


def test_upgrade_keeps_rows_and_backfills_order_dependencies_and_escalations(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, revision_before("0009"))
        rows = [
            # key, channel, dm_user, thread_key, thread_ts, update_key, payload, state
            ("esc:4:parent", "CESC", None, None, None, None, '{"text": "p"}', "dead"),
            ("esc:4:open:thread", "CESC", None, "esc:4:parent", None, None, '{"text": "t"}', "pending"),
            (
                "esc:4:open:dm",
                None,
                "UCSM1",
                None,
                None,
                None,
                '{"text": "d", "permalink_of": "esc:4:open:thread"}',
                "pending",
            ),
            ("esc:4:ev:9:parent", None, None, None, None, "esc:4:parent", '{"text": "u"}', "pending"),
            ("alert:1", "CALERTS", None, None, "1700000000.000100", None, '{"text": "a"}', "pending"),
            ("digest:1", "CDIGEST", None, None, None, None, '{"text": "g"}', "sent"),
        ]
        lanes = {"esc:4:open:dm": "dm:UCSM1", "esc:4:ev:9:parent": "upd:esc:4:parent"}
        with engine.begin() as conn:
            for key, channel, dm_user, thread_key, thread_ts, update_key, payload, state in rows:
                conn.execute(
                    text(
                        "INSERT INTO outbox (key, method, channel, dm_user, thread_key, thread_ts,"
                        " update_key, payload, priority, state, attempts, next_attempt_at, created_at,"
                        " lane, in_doubt, failures)"
                        " VALUES (:key, 'chat.postMessage', :channel, :dm_user, :thread_key, :thread_ts,"
                        " :update_key, :payload, 0, :state, 1, :now, :now, :lane, false, 0)"
                    ),
                    dict(
                        key=key,
                        channel=channel,
                        dm_user=dm_user,
                        thread_key=thread_key,
                        thread_ts=thread_ts,
                        update_key=update_key,
                        payload=payload,
                        state=state,
                        lane=lanes.get(key, channel),
                        now=NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW,
                    ),
                )
        upgrade(engine)
        with Session(engine) as session:
            found = {r.key: r for r in session.exec(select(Outbox)).all()}
        assert {
            k: (r.order_key, r.depends_on, r.escalation_id, r.state, r.payload["text"])
            for k, r in found.items()
        } == {
            "esc:4:parent": (None, None, 4, "dead", "p"),
            "esc:4:open:thread": ("thread:esc:4:parent", "esc:4:parent", 4, "pending", "t"),
            "esc:4:open:dm": (None, "esc:4:open:thread", 4, "pending", "d"),
            "esc:4:ev:9:parent": ("upd:esc:4:parent", "esc:4:parent", 4, "pending", "u"),
            "alert:1": ("thread:CALERTS:1700000000.000100", None, None, "pending", "a"),
            "digest:1": (None, None, None, "sent", "g"),  # sent rows need nothing
        }
        assert found["esc:4:parent"].reported_at is not None  # `csbot outbox` already shows it
        assert all(r.reported_at is None for k, r in found.items() if k != "esc:4:parent")
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []
    finally:
        engine.dispose()
