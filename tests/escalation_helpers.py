"""Helpers for the escalation tests: a small team and portfolio, delivering the
Outbox, reading the parent message and its thread as the fake holds them, and
clicking the parent's own buttons in Slack's real block_actions format."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import Clock
from jobs.escalation_policy import run_escalation_policy
from jobs.outbox import deliver_due
from models.db import session_scope
from models.tables import Account, Escalation, EscalationEvent, HealthSnapshot, Member, Outbox
from tests.harness import Bot

ESC_CHANNEL = "CESC"


def seed_team(engine: Engine, clock: Clock, *, health: bool = True) -> None:
    """Casey (UCSM1) and Robin (UCSM2) report to Dana (UDIR1); Eve (UEXEC1) is the CS exec."""
    now = clock.now()
    with session_scope(engine) as s:
        s.add(
            Account(
                name="Acme Corp",
                arr_cents=12_000_000,
                renewal_date=date(2027, 3, 31),
                csm_slack_id="UCSM1",
                created_at=now,
                updated_at=now,
            )
        )
        s.add(
            Account(name="Globex", arr_cents=5_000_000, csm_slack_id="UCSM2", created_at=now, updated_at=now)
        )
        s.add(Account(name="Initech", arr_cents=1_000_000, created_at=now, updated_at=now))
        s.add(
            Account(name="Acme Labs", arr_cents=100_000, csm_slack_id="UCSM2", created_at=now, updated_at=now)
        )
        s.add(Member(slack_id="UCSM1", role="csm", manager_slack_id="UDIR1", created_at=now, updated_at=now))
        s.add(Member(slack_id="UCSM2", role="csm", manager_slack_id="UDIR1", created_at=now, updated_at=now))
        s.add(
            Member(
                slack_id="UDIR1", role="director", manager_slack_id="UEXEC1", created_at=now, updated_at=now
            )
        )
        s.add(Member(slack_id="UEXEC1", role="exec", created_at=now, updated_at=now))
        s.flush()
        if health:
            acme = s.exec(select(Account).where(Account.name == "Acme Corp")).one()
            s.add(
                HealthSnapshot(
                    account_id=acme.id, date=date(2026, 11, 19), score=38, band="red", reasons=[], measures={}
                )
            )


def flush(bot: Bot) -> int:
    """Deliver every due Outbox row, as the worker would; return how many were sent."""
    total = 0
    while True:
        sent = deliver_due(bot.engine, bot.deps.client, bot.clock)
        if not sent:
            return total
        total += sent


def run_policy(bot: Bot) -> int:
    """One run of the policy job, then delivery; return how many steps paged someone."""
    paged = run_escalation_policy(bot.engine, bot.clock, on_written=bot.deps.wake_outbox)
    flush(bot)
    return paged


def open_via_command(bot: Bot, text: str, *, user_id: str = "UCSM2") -> dict[str, Any]:
    """`/cs escalate …` over signed HTTP, then delivery; return the reply."""
    response = bot.send.command(f"escalate {text}", user_id=user_id)
    assert response.status_code == 200
    reply = response.json()
    flush(bot)
    return reply


def parents(bot: Bot) -> list[dict[str, Any]]:
    """The escalation parent messages in the escalations channel (not thread replies)."""
    return [
        m
        for m in bot.fake.messages_in(ESC_CHANNEL)
        if m.get("thread_ts") in (None, m["ts"])
        and m.get("metadata", {}).get("event_payload", {}).get("key", "").endswith(":parent")
    ]


def parent(bot: Bot, index: int = 0) -> dict[str, Any]:
    found = parents(bot)
    assert len(found) > index, f"no parent message #{index} in {ESC_CHANNEL}"
    return found[index]


def thread_replies(bot: Bot, parent_msg: dict[str, Any]) -> list[str]:
    return [m["text"] for m in bot.fake.messages_in(ESC_CHANNEL, thread_ts=parent_msg["ts"])[1:]]


def dms(bot: Bot, user_id: str) -> list[str]:
    return [m["text"] for m in bot.fake.messages_in(user_id)]


def field_value(parent_msg: dict[str, Any], label: str) -> str:
    """The value of a `*Label*\\nvalue` field in the parent's facts section."""
    for block in parent_msg["blocks"]:
        for f in block.get("fields", []):
            title, _, value = f["text"].partition("\n")
            if title == f"*{label}*":
                return value
    raise AssertionError(f"no field {label!r} in the parent message")


def action_elements(parent_msg: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """action_id -> (block_id, element) of the parent's interactive elements."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for block in parent_msg.get("blocks", []):
        if block["type"] == "actions":
            for el in block["elements"]:
                found[el["action_id"]] = (block["block_id"], el)
    return found


def click(
    bot: Bot, parent_msg: dict[str, Any], action_id: str, *, user_id: str, selected_user: str | None = None
) -> httpx.Response:
    """Click one of the parent message's own elements, as Slack sends it (block_actions)."""
    elements = action_elements(parent_msg)
    assert action_id in elements, f"{action_id} is not on the message (has {sorted(elements)})"
    block_id, element = elements[action_id]
    extra: dict[str, Any] = {"block_id": block_id, "type": element["type"]}
    if element["type"] == "button":
        extra["text"] = element["text"]
    if selected_user is not None:
        extra["selected_user"] = selected_user
    return bot.send.block_action(
        action_id,
        value=element.get("value"),
        user_id=user_id,
        channel_id=ESC_CHANNEL,
        message=parent_msg,
        container={
            "type": "message",
            "message_ts": parent_msg["ts"],
            "channel_id": ESC_CHANNEL,
            "is_ephemeral": False,
        },
        extra_action=extra,
    )


def submit_modal(bot: Bot, *, user_id: str, note: str) -> httpx.Response:
    """Submit the last modal the bot opened, with `note` typed in it (view_submission)."""
    opened = bot.fake.calls_to("views.open")[-1].response["view"]
    input_block = next(b for b in opened["blocks"] if b["type"] == "input")
    values = {
        input_block["block_id"]: {
            input_block["element"]["action_id"]: {"type": "plain_text_input", "value": note}
        }
    }
    return bot.send.view_submission(
        opened["callback_id"],
        values,
        user_id=user_id,
        private_metadata=opened["private_metadata"],
        view_id=opened["id"],
    )


def escalation(engine: Engine, escalation_id: int = 1) -> Escalation:
    with session_scope(engine) as s:
        esc = s.get(Escalation, escalation_id)
        assert esc is not None
        return esc


def events(engine: Engine, escalation_id: int = 1) -> list[str]:
    with session_scope(engine) as s:
        return list(
            s.exec(
                select(EscalationEvent.kind)
                .where(EscalationEvent.escalation_id == escalation_id)
                .order_by(EscalationEvent.id)
            ).all()
        )


def outbox_count(engine: Engine) -> int:
    with session_scope(engine) as s:
        return len(s.exec(select(Outbox.id)).all())
