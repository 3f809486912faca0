"""Building one Outbox row's Slack call (PRODUCT.md §6.3): the target channel or
DM, the thread or message it needs posted first, the permalink a DM carries, and
the history look-up that finds a post Slack may already have stored."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.delivery.outbox import METADATA_EVENT_TYPE
from jobs.outbox_outcomes import Claim, DeliveryPolicy, is_retryable
from models.db import session_scope
from models.tables import Outbox

log = logging.getLogger(__name__)

# What a DM's `{permalink}` becomes when the message it links to could not be posted.
NO_LINK = "(no link: the thread could not be posted; the admins are told)"


class Wait(Exception):
    """A message this row depends on is not posted yet: put the row back untouched."""


class DependencyDead(Exception):
    """A message this row depends on is dead: this row cannot be sent either."""


def build_call(
    engine: Engine, client: WebClient, claim: Claim, posted: dict[str, tuple[str, str]]
) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = dict(claim.payload)
    link_key = args.pop("permalink_of", None)
    if claim.update_key:
        channel, ts = posted_target(engine, claim.update_key, posted)
        args.update(channel=channel, ts=ts)
        method = "chat.update"
    else:
        channel = claim.channel
        if claim.dm_user:
            channel = client.conversations_open(users=claim.dm_user)["channel"]["id"]
        args["channel"] = channel
        thread_ts = claim.thread_ts
        if claim.thread_key:
            thread_ts = posted_target(engine, claim.thread_key, posted)[1]
        if thread_ts:
            args["thread_ts"] = thread_ts
        args["metadata"] = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": claim.key}}
        method = "chat.postMessage"
    if link_key:
        try:
            link_channel, link_ts = posted_target(engine, link_key, posted)
        except DependencyDead:
            # The page still goes out, without the link: a page is never held back
            # because the message it points to could not be posted.
            return method, _fill_permalink(args, None)
        permalink = client.chat_getPermalink(channel=link_channel, message_ts=link_ts)["permalink"]
        args = _fill_permalink(args, permalink)
    return method, args


def posted_target(engine: Engine, key: str, posted: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The (channel, ts) of the row `key`, or Wait / DependencyDead."""
    if key in posted:
        return posted[key]
    with session_scope(engine) as session:
        row = session.exec(select(Outbox).where(Outbox.key == key)).first()
    if row is not None and row.posted_ts is not None and row.posted_channel is not None:
        posted[key] = (row.posted_channel, row.posted_ts)
        return posted[key]
    if row is None:
        raise DependencyDead(f"the message it depends on ({key}) was never queued")
    if row.state == "dead":
        raise DependencyDead(f"the message it depends on ({key}) could not be posted: {row.last_error}")
    raise Wait(key)


def _fill_permalink(args: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    """Replace the `{permalink}` placeholder in text and blocks (a DM linking to a thread);
    None: the linked message could not be posted, so say so instead of linking."""
    filled = dict(args)
    for name in ("text", "blocks"):
        if name in filled:
            raw = json.dumps(filled[name])
            if permalink is None:
                raw = _LINKED.sub(NO_LINK, raw).replace("{permalink}", NO_LINK)
            else:
                safe = permalink.replace("&", "&amp;")  # "?thread_ts=…&cid=…": `&` is markup in mrkdwn
                raw = raw.replace("{permalink}", safe)
            filled[name] = json.loads(raw)
    return filled


_LINKED = re.compile(r"<\{permalink\}\|[^>]*>")  # a mrkdwn link to the placeholder: <{permalink}|Open it>


def find_posted(
    client: WebClient, key: str, channel: str, thread_ts: str | None, policy: DeliveryPolicy
) -> str | None:
    """The ts of a message carrying `key` in its metadata in the channel (or thread), if any."""
    cursor: str | None = None
    for _ in range(policy.history_pages):
        kwargs: dict[str, Any] = {
            "channel": channel,
            "limit": policy.history_limit,
            "include_all_metadata": True,
        }
        if cursor:
            kwargs["cursor"] = cursor
        try:
            if thread_ts:
                page = client.conversations_replies(ts=thread_ts, **kwargs)
            else:
                page = client.conversations_history(**kwargs)
        except SlackApiError as exc:
            if is_retryable(exc):
                raise  # try the whole delivery again later
            # We cannot look (e.g. a missing history scope): a page posted twice is
            # better than a page lost, so post, and say why.
            log.warning("outbox %s: cannot check the history (%s); posting", key, exc.response.get("error"))
            return None
        for message in page.get("messages", []):
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None
