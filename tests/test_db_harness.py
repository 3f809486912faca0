"""The database harness itself: both backends, isolation, time zones, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, func, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.migrate import current_revision, head_revision, upgrade
from models.tables import Account, AuditLog, Member, Touchpoint
from models.types import UTCDateTime

KOLKATA = timezone(timedelta(hours=5, minutes=30))
NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=KOLKATA)


def _account(name: str = "Acme", when: datetime = NOW) -> Account:
    return Account(name=name, created_at=when, updated_at=when)


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in SQLModel.metadata.tables.items()
        }


# --- backends ------------------------------------------------------------------


def test_backend_is_the_one_named_in_the_test_id(request: pytest.FixtureRequest, engine: Engine) -> None:
    assert engine.dialect.name == request.node.callspec.params["db_url"]


def test_database_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}


# --- isolation -----------------------------------------------------------------


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_starts_empty(round_: int, engine: Engine, session: Session) -> None:
    # Both rounds write the same rows; whichever runs second would see the
    # first's rows (and ids above 1) if databases leaked between tests.
    assert set(_row_counts(engine).values()) == {0}
    account = _account()
    session.add(account)
    session.add(Member(slack_id="U1", created_at=NOW, updated_at=NOW))
    session.commit()
    assert account.id == 1
    assert _row_counts(engine)["account"] == 1


@pytest.mark.parametrize("round_", [1, 2])
def test_rolled_back_insert_does_not_leak_ids(round_: int, session: Session) -> None:
    assert session.exec(select(Account)).all() == []
    session.add(_account())
    session.flush()
    assert session.exec(select(Account.id)).one() == 1
    session.rollback()


# --- UTCDateTime ---------------------------------------------------------------


def test_aware_datetime_round_trips_as_utc(engine: Engine, session: Session) -> None:
    session.add(_account())
    session.commit()
    with Session(engine) as fresh:
        got = fresh.exec(select(Account)).one().created_at
    assert got == NOW  # the same instant
    assert got.tzinfo is UTC
    assert (got.hour, got.minute, got.microsecond) == (4, 0, 123456)


def test_naive_datetime_is_refused(session: Session) -> None:
    session.add(_account(when=datetime(2026, 3, 1, 9, 30)))
    with pytest.raises(StatementError) as caught:
        session.commit()
    assert isinstance(caught.value.orig, ValueError)
    session.rollback()
    assert session.exec(select(Account)).all() == []


# --- migrations ----------------------------------------------------------------


@pytest.fixture
def empty_engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def test_upgrade_creates_schema_and_is_idempotent(empty_engine: Engine) -> None:
    assert inspect(empty_engine).get_table_names() == []
    head = head_revision()

    assert upgrade(empty_engine) == (None, head)
    assert set(inspect(empty_engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    with Session(empty_engine) as session:
        session.add(_account())
        session.commit()

    assert upgrade(empty_engine) == (head, head)
    with Session(empty_engine) as session:
        assert [a.name for a in session.exec(select(Account)).all()] == ["Acme"]


def test_upgrade_from_0001_keeps_rows(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, "0001") == (None, "0001")
    assert set(inspect(empty_engine).get_table_names()) == {
        "alembic_version", "account", "member", "touchpoint", "auditlog",
    }  # fmt: skip

    at = bindparam("at", NOW, type_=UTCDateTime())
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO account (id, name, arr_cents, created_at, updated_at)"
                " VALUES (7, 'Acme', 1250000, :at, :at)"
            ).bindparams(at)
        )
        conn.execute(
            text(
                "INSERT INTO member (slack_id, role, name, created_at, updated_at)"
                " VALUES ('U1', 'csm', 'Ada', :at, :at)"
            ).bindparams(at)
        )
        conn.execute(
            text(
                "INSERT INTO touchpoint (id, account_id, author_slack_id, type, occurred_at, note,"
                " sentiment, tags, idempotency_key, created_at)"
                " VALUES (3, 7, 'U1', 'call', :at, 'kickoff', 1, '[\"renewal\"]', 'k1', :at)"
            ).bindparams(at)
        )
        conn.execute(
            text(
                "INSERT INTO auditlog (id, at, actor_slack_id, action, entity, entity_id, detail)"
                " VALUES (5, :at, 'U1', 'touchpoint.create', 'touchpoint', '3', '{\"via\": \"test\"}')"
            ).bindparams(at)
        )

    assert upgrade(empty_engine) == ("0001", head_revision())

    with Session(empty_engine) as session:
        account = session.get(Account, 7)
        member = session.get(Member, "U1")
        touchpoint = session.get(Touchpoint, 3)
        audit = session.get(AuditLog, 5)
    assert account is not None and (account.name, account.arr_cents) == ("Acme", 1250000)
    assert account.created_at == NOW and account.created_at.tzinfo is UTC
    assert member is not None and (member.role, member.name) == ("csm", "Ada")
    assert touchpoint is not None
    assert (touchpoint.account_id, touchpoint.note, touchpoint.tags) == (7, "kickoff", ["renewal"])
    assert touchpoint.occurred_at == NOW
    assert audit is not None and audit.detail == {"via": "test"} and audit.at == NOW
