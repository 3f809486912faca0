"""Shared pytest fixtures for csbot.

Sections (append new ones at the end, each under its own banner):
  1. Databases: pg_server, db_url, engine, session, empty_db_url
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import make_engine
from models.migrate import upgrade
from tests.pg import SKIP_REASON, PostgresServer, start_postgres

# =============================================================================
# 1. Databases
#
# Any test that requests `db_url`, `engine` or `session` runs twice, once per
# backend (ids "sqlite" and "postgresql"), on a database migrated to Alembic
# head, empty, and private to the test. `empty_db_url` (same two backends)
# gives a database with no tables at all, for migration tests. Tests that use
# `db_url` must not change the schema; use `empty_db_url` for that.
#
# PostgreSQL is a throw-away server started once per session (once per xdist
# worker), so tests never share a server across processes.
# =============================================================================

BACKENDS = ["sqlite", "postgresql"]
PG_TEMPLATE_DB = "csbot_template"
PG_TEST_DB = "csbot_test"
PG_EMPTY_DB = "csbot_empty"
# Run before resetting a database: a connection an earlier test left inside a
# transaction could hold locks the reset needs. Idle pooled connections stay.
_TERMINATE_BUSY_BACKENDS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND state IS DISTINCT FROM 'idle'"
)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    if server is None:
        if os.environ.get("CSBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{SKIP_REASON}, and CSBOT_REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
        pytest.skip(SKIP_REASON)
    try:
        yield server
    finally:
        server.stop()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrate(f"sqlite:///{path}")
    # Fold the WAL into the main file so that copying this one file is enough.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


class _PgTestDatabase:
    """One migrated database per session (per xdist worker), emptied before each test.

    Measured here (PostgreSQL 15, fsync off, 15 tables), cost per test of
      CREATE DATABASE t_<n> TEMPLATE csbot_template, then DROP:   65-130 ms
      TRUNCATE <all tables> RESTART IDENTITY CASCADE:               16-35 ms
        (TRUNCATE swaps every table's and index's files; even TRUNCATE of
        `account` alone cascades to the ten tables that reference it)
      find dirty tables, DELETE them, reset their sequences (this):  ~1 ms
    so we reuse one database and delete only what a test dirtied. A table is
    dirty when it has a row or its id sequence has been used (an insert that
    was rolled back still advances it, and tests may count on ids from 1).
    Foreign keys are not checked during the reset (session_replication_role =
    replica), so tables can be emptied in any order. alembic_version is never
    touched, so the schema stays at head.
    """

    def __init__(self, server: PostgresServer, dbname: str) -> None:
        self.url = server.url(dbname)
        self.conn = psycopg.connect(
            host=server.host, port=server.port, user="postgres", dbname=dbname, autocommit=True
        )
        # Never hang on a lock a misbehaving test left behind: fail loudly instead.
        self.conn.execute("SET lock_timeout = '10s'")
        rows = self.conn.execute(
            """
            SELECT c.relname, pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
            """
        ).fetchall()
        self.sequences: dict[str, list[str]] = {}
        for table, seq in rows:
            self.sequences.setdefault(table, [])
            if seq is not None:
                self.sequences[table].append(seq)
        checks = []
        for table, seqs in sorted(self.sequences.items()):
            dirty = [sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))]
            dirty += [sql.SQL("(SELECT is_called FROM {})").format(sql.SQL(seq)) for seq in seqs]
            checks.append(
                sql.SQL("SELECT {} WHERE {}").format(sql.Literal(table), sql.SQL(" OR ").join(dirty))
            )
        self.dirty_query = sql.SQL(" UNION ALL ").join(checks)

    def reset(self) -> None:
        self.conn.execute(_TERMINATE_BUSY_BACKENDS)
        dirty = [row[0] for row in self.conn.execute(self.dirty_query)]
        if not dirty:
            return
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")
            for table in dirty:
                self.conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            seqs = [seq for table in dirty for seq in self.sequences[table]]
            self.conn.execute("SELECT setval(s::regclass, 1, false) FROM unnest(%s::text[]) AS s", [seqs])

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def _pg_test_database(pg_server: PostgresServer) -> Iterator[_PgTestDatabase]:
    pg_server.create_database(PG_TEMPLATE_DB)
    _migrate(pg_server.url(PG_TEMPLATE_DB))
    pg_server.create_database(PG_TEST_DB, template=PG_TEMPLATE_DB)
    database = _PgTestDatabase(pg_server, PG_TEST_DB)
    yield database
    database.close()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A database at Alembic head, empty, private to this test; on both backends."""
    if request.param == "sqlite":
        # tmp_path only here: creating it costs a few ms the PostgreSQL tests need not pay.
        path = request.getfixturevalue("tmp_path") / "csbot.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    database: _PgTestDatabase = request.getfixturevalue("_pg_test_database")
    database.reset()
    return database.url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A Session on `engine`, closed after the test. expire_on_commit=False as in
    models.db.session_scope: reading an attribute after commit must not open a
    new transaction, because on SQLite every transaction is BEGIN IMMEDIATE and
    would hold the write lock, so the code under test would wait out its
    30-second busy timeout. (Commit or roll back before calling such code.)"""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(scope="session")
def _pg_empty_database(pg_server: PostgresServer) -> Iterator[psycopg.Connection]:
    pg_server.create_database(PG_EMPTY_DB, template="template0")
    conn = psycopg.connect(
        host=pg_server.host, port=pg_server.port, user="postgres", dbname=PG_EMPTY_DB, autocommit=True
    )
    conn.execute("SET lock_timeout = '10s'")
    yield conn
    conn.close()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """A database with no tables (not even alembic_version), for migration tests.

    PostgreSQL: one database per session whose `public` schema is dropped and
    recreated before each test (~10 ms, against ~230 ms to create and drop a
    database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'empty.db'}"
    conn: psycopg.Connection = request.getfixturevalue("_pg_empty_database")
    conn.execute(_TERMINATE_BUSY_BACKENDS)
    conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.url(PG_EMPTY_DB)


# =============================================================================
# (append further sections below)
# =============================================================================

# Slack-facing fixtures: fake Web API, the running app, signed requests, clock.
pytest_plugins = ["tests.harness", "tests.playground_tour"]
