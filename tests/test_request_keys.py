"""The request key goes in with a request's first write (bot/slack/request_keys.py):
three writers racing with one key on their own engines (three processes) write
once; a request that writes nothing stores no key. Both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import select

from bot.slack import request_keys
from models.db import make_engine, session_scope
from models.tables import Member, SlackRequest

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_three_processes_racing_with_one_key_write_once(db_url: str) -> None:
    results: list[str] = []
    go = threading.Event()

    def run(i: int) -> None:
        engine = make_engine(db_url)
        pending = request_keys.begin("cmd:race", NOW)
        go.wait(timeout=10)
        try:
            with session_scope(engine) as s:
                s.add(Member(slack_id=f"U{i}", role="csm", created_at=NOW, updated_at=NOW))
            results.append("wrote")
        except request_keys.AlreadyHandled:
            results.append("duplicate")
        finally:
            request_keys.end(pending)
            engine.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["duplicate", "duplicate", "wrote"]
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        assert len(s.exec(select(Member)).all()) == 1
        assert [r.key for r in s.exec(select(SlackRequest)).all()] == ["cmd:race"]
    assert request_keys.stored_answer(engine, "cmd:race") == (None,)
    request_keys.store_answer(engine, "cmd:race", {"body": "done"})
    assert request_keys.stored_answer(engine, "cmd:race") == ({"body": "done"},)
    engine.dispose()


def test_a_request_that_only_reads_stores_no_key(db_url: str) -> None:
    engine = make_engine(db_url)
    pending = request_keys.begin("cmd:read", NOW)
    try:
        with session_scope(engine) as s:
            s.exec(select(Member)).all()
    finally:
        request_keys.end(pending)
    assert not pending.claimed
    assert request_keys.stored_answer(engine, "cmd:read") is None
    # and outside a request nothing is keyed at all
    with session_scope(engine) as s:
        s.add(Member(slack_id="UJOB", role="csm", created_at=NOW, updated_at=NOW))
    with session_scope(engine) as s:
        assert s.exec(select(SlackRequest)).all() == []
    engine.dispose()


def test_a_key_never_outlives_its_request_on_the_thread(db_url: str) -> None:
    """A thread that handled a request handles the next one without its key."""
    engine = make_engine(db_url)
    pending = request_keys.begin("cmd:first", NOW)
    request_keys.end(pending)
    request_keys.end(pending)  # ending twice is harmless
    with session_scope(engine) as s:
        s.add(Member(slack_id="UNEXT", role="csm", created_at=NOW, updated_at=NOW))
    assert request_keys.stored_answer(engine, "cmd:first") is None
    engine.dispose()
