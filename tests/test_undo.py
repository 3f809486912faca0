"""Undo: the author, within 10 minutes, once; audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.errors import BadInput, NotAllowed
from bot.touchpoints.undo import perform_undo, undo_button, undo_value
from models.db import session_scope
from models.tables import AuditLog, Touchpoint
from tests.harness import Bot, seed_touchpoint


def test_undo_button_soft_deletes_and_audits(bot: Bot) -> None:
    tp_id = seed_touchpoint(bot.engine, bot.clock)
    bot.clock.advance(minutes=9)
    button = undo_button("touchpoint", tp_id)
    assert bot.send.block_action(button["action_id"], value=button["value"]).status_code == 200
    assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    assert (
        bot.fake.responses[0].body["text"]
        == ":leftwards_arrow_with_hook: Undone: the touchpoint was removed."
    )
    with session_scope(bot.engine) as s:
        assert s.get(Touchpoint, tp_id).deleted_at == bot.clock.now()
        audit = s.exec(select(AuditLog).where(AuditLog.action == "touchpoint.undo")).one()
        assert (audit.actor_slack_id, audit.entity_id) == ("UCSM1", str(tp_id))


def test_undo_too_late_or_by_someone_else_changes_nothing(bot: Bot) -> None:
    tp_id = seed_touchpoint(bot.engine, bot.clock)
    with session_scope(bot.engine) as s, pytest.raises(NotAllowed, match="Only the person who recorded"):
        perform_undo(s, bot.clock, "UCSM2", undo_value("touchpoint", tp_id))
    bot.clock.advance(timedelta(minutes=10, seconds=1))
    with session_scope(bot.engine) as s, pytest.raises(BadInput, match="Too late to undo"):
        perform_undo(s, bot.clock, "UCSM1", undo_value("touchpoint", tp_id))
    with session_scope(bot.engine) as s:
        assert s.get(Touchpoint, tp_id).deleted_at is None
        assert s.exec(select(AuditLog)).all() == []


def test_undo_twice_says_already_undone(bot: Bot) -> None:
    tp_id = seed_touchpoint(bot.engine, bot.clock)
    with session_scope(bot.engine) as s:
        perform_undo(s, bot.clock, "UCSM1", undo_value("touchpoint", tp_id))
    with session_scope(bot.engine) as s:
        assert perform_undo(s, bot.clock, "UCSM1", undo_value("touchpoint", tp_id)) == (
            "That touchpoint was already undone."
        )
