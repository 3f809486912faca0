"""The Outbox delivery worker: sends due rows to Slack.

Foundation version: sends due rows in order and records the ts. Retries,
backoff, the crash-safe history check and row claiming come with the delivery
issue; callers depend only on `deliver_due`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import Clock
from bot.outbox import METADATA_EVENT_TYPE
from models.db import session_scope
from models.tables import Outbox

log = logging.getLogger(__name__)


def deliver_due(engine: Engine, client: WebClient, clock: Clock, limit: int = 100) -> int:
    """Send every due pending row (oldest first within priority); return how many were sent."""
    sent = 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(Outbox)
            .where(Outbox.state == "pending", Outbox.next_attempt_at <= clock.now())
            .order_by(Outbox.priority, Outbox.id)
            .limit(limit)
        ).all()
        for row in rows:
            if _send(session, client, clock, row):
                sent += 1
    return sent


def _send(session: Any, client: WebClient, clock: Clock, row: Outbox) -> bool:
    args: dict[str, Any] = dict(row.payload)
    if row.update_key:
        target = session.exec(select(Outbox).where(Outbox.key == row.update_key)).first()
        if target is None or target.posted_ts is None:
            return False  # wait for the message we edit to exist
        args.update(channel=target.posted_channel, ts=target.posted_ts)
        method = client.chat_update
    else:
        channel = row.channel
        if row.dm_user:
            channel = client.conversations_open(users=row.dm_user)["channel"]["id"]
        thread_ts = row.thread_ts
        if row.thread_key:
            parent = session.exec(select(Outbox).where(Outbox.key == row.thread_key)).first()
            if parent is None or parent.posted_ts is None:
                return False  # the parent is not posted yet
            thread_ts = parent.posted_ts
        args.update(channel=channel)
        if thread_ts:
            args["thread_ts"] = thread_ts
        args["metadata"] = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": row.key}}
        method = client.chat_postMessage
    link_key = args.pop("permalink_of", None)
    if link_key:
        linked = session.exec(select(Outbox).where(Outbox.key == link_key)).first()
        if linked is None or linked.posted_ts is None:
            return False  # the message we link to is not posted yet
        permalink = client.chat_getPermalink(channel=linked.posted_channel, message_ts=linked.posted_ts)[
            "permalink"
        ]
        args = _fill_permalink(args, permalink)
    row.attempts += 1
    try:
        response = method(**args)
    except SlackApiError as exc:
        row.last_error = str(exc.response.get("error", exc))
        row.state = "dead"
        log.warning("outbox %s dead: %s", row.key, row.last_error)
        return False
    row.state = "sent"
    row.posted_channel = response.get("channel", args.get("channel"))
    row.posted_ts = response.get("ts", args.get("ts"))
    row.sent_at = clock.now()
    session.add(row)
    session.flush()
    return True


def _fill_permalink(args: dict[str, Any], permalink: str) -> dict[str, Any]:
    """Replace the `{permalink}` placeholder in text and blocks (a DM linking to a thread)."""
    filled = dict(args)
    for field in ("text", "blocks"):
        if field in filled:
            filled[field] = json.loads(json.dumps(filled[field]).replace("{permalink}", permalink))
    return filled
