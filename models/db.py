"""Engine and session helpers: one engine per process, one session per unit of
work, opened by the caller (SQLModel's recommendation)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for csbot: SQLite in WAL mode with foreign keys and a busy
    timeout (several threads write); PostgreSQL through psycopg 3 with a pool."""
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # A database error never carries what a user typed into the log (or a reply).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        _SqliteWriterQueue(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue on
    # busy_timeout instead of failing with "database is locked" mid-transaction.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class _SqliteWriterQueue:
    """One SQLite writer at a time per engine, queued in Python (PRODUCT.md §2).

    Every transaction is BEGIN IMMEDIATE (see _sqlite_on_begin). When several
    threads of this process want the write lock at once, SQLite's busy handler
    makes the losers sleep 1, 2, 5, 10 … 100 ms and retry: at 8 concurrent
    `/cs log` requests that put p99 near 100 ms. Here they wait on a lock that
    is handed over the moment the holder commits or rolls back. Other processes
    still meet the busy handler; a holder that never finishes delays a waiter
    at most `wait_seconds`, after which it falls back to SQLite's own waiting."""

    def __init__(self, engine: Engine, wait_seconds: float = 30.0) -> None:
        # A plain Lock, not an RLock: a transaction may end on another thread than
        # it began on, and only a Lock can be released from any thread.
        self._lock = threading.Lock()
        self._held_lock = threading.Lock()
        self._held: set[int] = set()
        self._wait = wait_seconds
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        def do_rollback(dbapi_connection: Any) -> None:
            try:
                rollback(dbapi_connection)
            finally:
                self._release(dbapi_connection)

        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        event.listen(engine, "begin", self._on_begin)
        dialect._csbot_writer_queue = self  # type: ignore[attr-defined]

    def is_free(self) -> bool:
        """True when no transaction holds the queue (tests check it is always handed back)."""
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        return not self._held

    def _on_begin(self, conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # a reader (read_scope): WAL lets it read a consistent snapshot while
            # a writer works, so it neither waits for nor blocks the write lock
            conn.exec_driver_sql("BEGIN")
            return
        raw = conn.connection.dbapi_connection
        if self._lock.acquire(timeout=self._wait):
            with self._held_lock:
                self._held.add(id(raw))
        try:
            _sqlite_on_begin(conn)
        except BaseException:
            self._release(raw)
            raise

    def _release(self, conn: Any) -> None:
        raw = getattr(conn, "dbapi_connection", conn)  # SQLAlchemy passes its pool proxy
        with self._held_lock:
            if id(raw) not in self._held:
                return
            self._held.discard(id(raw))
        self._lock.release()


def _is_memory(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    try:
        rows = cursor.execute("PRAGMA database_list").fetchall()
    finally:
        cursor.close()
    return any(row[2] in ("", ":memory:") for row in rows if row[1] == "main")


READ_ONLY = "csbot_read_only"


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads (a Home tab, a report): on SQLite it does not take
    the one write lock every other transaction queues for, so a long read never
    delays a `/cs log`. Anything it would write is rolled back."""
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
