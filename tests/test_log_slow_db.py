"""Ack discipline: with a database that does not answer, `/cs log` is still
acknowledged at once (empty body), and the confirmation follows through
response_url once the database answers, with exactly one row written."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from models.db import session_scope
from models.tables import Account, Touchpoint
from tests.harness import Bot


def test_slow_database_still_gets_the_ack_first(bot: Bot) -> None:
    now = bot.clock.now()
    with session_scope(bot.engine) as s:
        s.add(Account(name="Acme Corp", arr_cents=1, created_at=now, updated_at=now))
    bot.deps.accounts.invalidate()

    gate = threading.Event()
    blocked = threading.Event()

    def slow(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Every database call of the app (any thread but the test's own) hangs.
        if threading.current_thread() is not threading.main_thread():
            blocked.set()
            gate.wait(timeout=30)

    event.listen(bot.engine, "before_cursor_execute", slow)
    bot.deps.ack_budget_seconds = 0.1
    try:
        response = bot.send.command("log Acme Corp call yesterday renewal chat +")
        assert response.status_code == 200
        assert response.text == ""  # acked while the database still held the work
        assert blocked.is_set() and not gate.is_set()
        assert bot.fake.responses == []
        gate.set()
        assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    finally:
        gate.set()
        event.remove(bot.engine, "before_cursor_execute", slow)
    late = bot.fake.responses[0].body
    assert late["response_type"] == "ephemeral"
    assert "Logged" in late["text"] and "Acme Corp" in late["text"]
    assert late["blocks"][-1]["elements"][0]["action_id"] == "undo"
    with session_scope(bot.engine) as s:
        rows = s.exec(select(Touchpoint)).all()
    assert len(rows) == 1 and rows[0].note == "renewal chat"
