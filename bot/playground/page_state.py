"""What the playground's page draws for one person (PRODUCT.md §7.1): the channels,
the open channel's messages with their threads, the ephemerals only they see, their
Home tab and their open modal with its inline errors, in one JSON object."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from bot.playground.fake_slack import FakeSlack
from bot.playground.team import CHANNELS

if TYPE_CHECKING:
    from bot.playground.workspace import Workspace


def page_state(ws: Workspace, user: str, channel: str | None) -> dict[str, Any]:
    """Everything the page draws for `user` looking at `channel` (a channel id, a DM id, or None)."""
    ws.sync()
    with ws.lock:
        me = ws.person(user)
        dm = ws.fake.dm_channel_id(user)
        with ws.fake._lock:
            home = copy.deepcopy(ws.fake.home_tabs.get(user))
        current = channel or CHANNELS[0].id
        messages = ws.fake.messages_in(current) if current in ws.fake.messages else []
        unread = {c.id: len(ws.fake.messages.get(c.id, [])) for c in CHANNELS}
        view = ws.top_view(user)
        return {
            "version": ws.version(),
            "me": {"id": me.slack_id, "name": me.full_name, "role": me.role, "label": me.label},
            "people": [{"id": p.slack_id, "label": p.label} for p in ws.people],
            "names": names(ws.fake),
            "channels": [
                {"id": c.id, "name": c.name, "purpose": c.purpose, "count": unread[c.id]} for c in CHANNELS
            ],
            "dm": dm,
            "channel": current,
            "messages": messages,
            "ephemerals": [e.__dict__ for e in ws.ephemerals if e.user == user and e.channel == current],
            "home": home,
            "modal": view,
            "modal_depth": len(ws.modals.get(user) or []),
            "errors": ws.errors.get(user, {}),
        }


def names(fake: FakeSlack) -> dict[str, str]:
    """Display names of people and channels, by id (mentions drawn as @name, #name)."""
    with fake._lock:
        users = {uid: u["name"] for uid, u in fake.users.items()}
    channels = {c.id: c.name for c in CHANNELS}
    return {**users, **channels}
