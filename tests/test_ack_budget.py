"""The ack budget (bot/ack_budget.py): whatever the listener, Slack gets its ack
on time; a late command answer follows through response_url. HTTP and Socket Mode."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import event
from sqlmodel import select

from bot.slack.socket_mode import BudgetedSocketModeHandler
from bot.touchpoints.undo import undo_button
from handlers.cs_command import Reply
from models.db import session_scope
from models.tables import Touchpoint
from tests.harness import Bot, seed_touchpoint


def _hang_app_database(bot: Bot, gate: threading.Event) -> Any:
    def slow(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            gate.wait(timeout=30)

    event.listen(bot.engine, "before_cursor_execute", slow)
    return slow


def test_a_slow_button_is_acked_on_time_and_answers_when_done(bot: Bot) -> None:
    tp_id = seed_touchpoint(bot.engine, bot.clock)
    gate = threading.Event()
    hook = _hang_app_database(bot, gate)
    bot.deps.ack_budget_seconds = 0.05
    try:
        button = undo_button("touchpoint", tp_id)  # type: ignore[arg-type]
        response = bot.send.block_action(button["action_id"], value=button["value"])
        assert (response.status_code, response.text) == (200, "")
        assert bot.fake.responses == []
        gate.set()
        assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    finally:
        gate.set()
        event.remove(bot.engine, "before_cursor_execute", hook)
    assert (
        bot.fake.responses[0].body["text"]
        == ":leftwards_arrow_with_hook: Undone: the touchpoint was removed."
    )
    with session_scope(bot.engine) as s:
        assert s.exec(select(Touchpoint)).one().deleted_at is not None


class _RecordingSocketClient:
    def __init__(self) -> None:
        self.acks: list[Any] = []
        self.logger = logging.getLogger("test.socket")

    def send_socket_mode_response(self, response: Any) -> None:
        self.acks.append(response)


def _socket_command(bot: Bot, text: str, envelope_id: str) -> SocketModeRequest:
    payload = {
        "command": "/cs",
        "text": text,
        "user_id": "UCSM1",
        "channel_id": "CGENERAL",
        "team_id": "T0001",
        "trigger_id": f"trig-{envelope_id}",
        "response_url": bot.fake.response_url(),
    }
    return SocketModeRequest(type="slash_commands", envelope_id=envelope_id, payload=payload)


def test_socket_mode_answers_in_the_ack_when_fast_and_via_response_url_when_slow(bot: Bot) -> None:
    handler = BudgetedSocketModeHandler(bot.app, "xapp-1-test", lambda: bot.deps.ack_budget_seconds)
    client = _RecordingSocketClient()
    handler.handle(client, _socket_command(bot, "help", "env-fast"))  # type: ignore[arg-type]
    assert [a.envelope_id for a in client.acks] == ["env-fast"]
    assert "/cs help [command]" in client.acks[0].payload["text"]

    gate = threading.Event()
    bot.deps.subcommands["slow-test"] = lambda request, deps: gate.wait(timeout=30) and Reply(
        text="done late"
    )
    bot.deps.ack_budget_seconds = 0.05
    try:
        handler.handle(client, _socket_command(bot, "slow-test", "env-slow"))  # type: ignore[arg-type]
        assert [a.envelope_id for a in client.acks] == ["env-fast", "env-slow"]
        assert client.acks[1].payload is None  # an empty ack, on time
        assert bot.fake.responses == []
        gate.set()
        assert bot.fake.wait_for(lambda: len(bot.fake.responses) == 1)
    finally:
        gate.set()
        bot.deps.subcommands.pop("slow-test")
    assert bot.fake.responses[0].body == {"text": "done late", "response_type": "ephemeral"}
