"""Revision 0008 (request keys): upgrades a database with data in it, leaves that
data as it was, gives the new table its unique key, matches the models, and
downgrades cleanly. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.migrate import alembic_config, revision_before, upgrade
from models.tables import Account, Touchpoint

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_upgrade_keeps_the_data_and_adds_a_unique_request_key(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    at = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    try:
        upgrade(engine, revision_before("0008"))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO account (id, name, arr_cents, created_at, updated_at)"
                    " VALUES (1, 'Acme & <Sons>', 100, :now, :now)"
                ),
                {"now": at},
            )
            conn.execute(
                text(
                    "INSERT INTO touchpoint (account_id, author_slack_id, type, occurred_at, note, sentiment,"
                    " tags, idempotency_key, created_at) VALUES (1, 'UCSM1', 'call', :now, 'hi', 0, '[]',"
                    " 'log:1.2.trig', :now)"
                ),
                {"now": at},
            )
        upgrade(engine)
        with Session(engine) as session:
            assert [a.name for a in session.exec(select(Account)).all()] == ["Acme & <Sons>"]
            assert [t.idempotency_key for t in session.exec(select(Touchpoint)).all()] == ["log:1.2.trig"]
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO slackrequest (key, answer, created_at) VALUES ('cmd:1', NULL, :now)"),
                {"now": at},
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text("INSERT INTO slackrequest (key, created_at) VALUES ('cmd:1', :now)"), {"now": at}
            )
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []

        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, revision_before("0008"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM account")).scalars().all() == ["Acme & <Sons>"]
    finally:
        engine.dispose()
