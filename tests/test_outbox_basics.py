"""The Outbox contract the features post through (PRODUCT.md §6.1)."""

from __future__ import annotations

from sqlmodel import select

from bot.delivery.outbox import METADATA_EVENT_TYPE, enqueue
from jobs.outbox import deliver_due
from models.db import session_scope
from models.tables import Outbox
from tests.harness import Bot


def test_parent_thread_reply_dm_with_permalink_and_update(bot: Bot) -> None:
    with session_scope(bot.engine) as s:
        enqueue(s, bot.clock, key="esc:1:parent", text="Escalation: Acme", channel="CESC")
        enqueue(
            s,
            bot.clock,
            key="esc:1:thread",
            text="<@UCSM1> you own this",
            channel="CESC",
            thread_key="esc:1:parent",
        )
        enqueue(
            s,
            bot.clock,
            key="esc:1:dm",
            text="You were paged: {permalink}",
            dm_user="UCSM1",
            permalink_of="esc:1:parent",
        )
        enqueue(
            s, bot.clock, key="esc:1:upd", text="Escalation: Acme (acknowledged)", update_key="esc:1:parent"
        )
        # queued twice, still one message
        enqueue(s, bot.clock, key="esc:1:parent", text="Escalation: Acme", channel="CESC")
    while deliver_due(bot.engine, bot.deps.client, bot.clock):
        pass
    channel = bot.fake.messages_in("CESC")
    parent = channel[0]
    assert parent["text"] == "Escalation: Acme (acknowledged)"
    assert parent["metadata"] == {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": "esc:1:parent"}}
    assert [m["text"] for m in bot.fake.messages_in("CESC", thread_ts=parent["ts"])][1:] == [
        "<@UCSM1> you own this"
    ]
    dm = bot.fake.messages_in("UCSM1")
    assert len(dm) == 1
    assert dm[0]["text"].startswith("You were paged: https://")
    assert parent["ts"].replace(".", "") in dm[0]["text"]
    with session_scope(bot.engine) as s:
        states = {r.key: r.state for r in s.exec(select(Outbox)).all()}
    assert states == {k: "sent" for k in ("esc:1:parent", "esc:1:thread", "esc:1:dm", "esc:1:upd")}
