"""SQLite writers queue in-process (models.db._SqliteWriterQueue): every way a
transaction can end hands the queue back, and waiting writers all get through."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.tables import Account


@pytest.fixture
def sqlite_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _account(name: str) -> Account:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 20, tzinfo=UTC)
    return Account(name=name, arr_cents=1, created_at=now, updated_at=now)


def test_every_ending_hands_the_queue_back(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    queue = sqlite_engine.dialect._csbot_writer_queue
    with session_scope(sqlite_engine) as s:
        s.add(_account("A"))
    assert queue.is_free()
    with pytest.raises(IntegrityError), session_scope(sqlite_engine) as s:
        s.add(_account("A"))
        s.flush()
    assert queue.is_free()
    with pytest.raises(RuntimeError), session_scope(sqlite_engine) as s:
        s.exec(select(Account)).all()
        raise RuntimeError("boom")
    assert queue.is_free()
    with sqlite_engine.connect() as conn:  # closed without commit: the pool rolls back
        conn.execute(text("SELECT 1"))
        assert not queue.is_free()
    assert queue.is_free()


def test_concurrent_writers_all_commit(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            start.wait()
            for k in range(20):
                with session_scope(sqlite_engine) as s:
                    s.add(_account(f"acct-{i}-{k}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(sqlite_engine) as s:
        assert len(s.exec(select(Account)).all()) == 160
    assert sqlite_engine.dialect._csbot_writer_queue.is_free()


def test_a_transaction_ended_on_another_thread_hands_the_queue_back(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    """A session begun on one thread and committed on another (e.g. work handed to
    an executor) must not leave the queue held: other writers would stall."""
    from models.db import Session

    session = Session(sqlite_engine)
    session.add(_account("started-here"))
    session.flush()  # begins the transaction on this thread
    queue = sqlite_engine.dialect._csbot_writer_queue
    assert not queue.is_free()
    finisher = threading.Thread(target=session.commit)
    finisher.start()
    finisher.join()
    session.close()
    assert queue.is_free()
    done = threading.Event()

    def other_writer() -> None:
        with session_scope(sqlite_engine) as s:
            s.add(_account("other-thread"))
        done.set()

    writer = threading.Thread(target=other_writer)
    writer.start()
    writer.join(timeout=5)
    assert done.is_set(), "a later writer was blocked by a queue that was never handed back"


def test_a_reader_neither_waits_for_nor_holds_up_a_writer(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from models.db import read_scope

    queue = sqlite_engine.dialect._csbot_writer_queue
    with session_scope(sqlite_engine) as s:
        s.add(_account("A"))
    with read_scope(sqlite_engine) as reader:
        assert [a.name for a in reader.exec(select(Account)).all()] == ["A"]
        assert queue.is_free()  # the reader holds no write lock
        done = threading.Event()

        def write() -> None:
            with session_scope(sqlite_engine) as w:
                w.add(_account("B"))
            done.set()

        threading.Thread(target=write).start()
        assert done.wait(5), "the writer waited for the reader"
        # the reader keeps its snapshot until it ends
        assert [a.name for a in reader.exec(select(Account)).all()] == ["A"]
    with read_scope(sqlite_engine) as reader:
        assert sorted(a.name for a in reader.exec(select(Account)).all()) == ["A", "B"]
    assert queue.is_free()
