"""Delivering an Outbox upload row (a digest's chart) with files_upload_v2 into the
thread of the message it belongs to (PRODUCT.md §6.2, §6.3).

The same rules as a post: it waits for its parent message's ts; 429 waits the
Retry-After, 5xx / timeouts back off, a permanent error makes it dead. Never
uploaded twice: files_upload_v2 returns no message, so the row's file name carries
its key, and an attempt that may have half-succeeded (the row is `in_doubt`) first
looks for that file in the thread. A chart that ends dead leaves a line in the
thread saying the chart is missing."""

from __future__ import annotations

import base64
import http.client
import logging
import urllib.error
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlmodel import select

from bot.clock import Clock
from bot.delivery.outbox import BULK, enqueue
from jobs.outbox import (
    RETRYABLE_ERRORS,
    DeliveryPolicy,
    _Claim,
    _DependencyDead,
    _finish,
    _posted_target,
    _record_sent,
    _record_slack_error,
    _release,
    _retry,
    _Wait,
)
from models.db import session_scope
from models.tables import Outbox

log = logging.getLogger(__name__)


def deliver_upload(
    engine: Any,
    client: WebClient,
    clock: Clock,
    claim: _Claim,
    *,
    policy: DeliveryPolicy,
    posted: dict[str, tuple[str, str]],
) -> bool:
    """Upload one claimed file row and record the outcome; True when it is now in the thread."""
    payload = claim.payload
    try:
        if not claim.thread_key:
            raise _DependencyDead("an upload needs the message it belongs to")
        channel, parent_ts = _posted_target(engine, claim.thread_key, posted)
        if claim.in_doubt:
            found = find_upload(client, channel, parent_ts, payload["filename"], policy)
            if found is not None:
                log.info("outbox %s was already uploaded (file %s); not uploading again", claim.key, found)
                _record_sent(engine, clock, claim, channel, found, counted=False)
                return True
        response = client.files_upload_v2(
            channel=channel,
            thread_ts=parent_ts,
            content=base64.b64decode(payload["content_b64"]),
            filename=payload["filename"],
            title=payload.get("title") or payload["filename"],
            alt_txt=payload.get("alt_txt"),
        )
    except _Wait:
        _release(engine, claim)
        return False
    except _DependencyDead as exc:
        _finish(engine, claim, state="dead", last_error=str(exc))
        return False
    except SlackApiError as exc:
        _record_slack_error(engine, clock, claim, exc, policy)
        _note_if_dead(engine, clock, claim)
        return False
    except SlackRequestError as exc:
        # The upload URL refused the bytes (files_upload_v2 raises this, not SlackApiError):
        # the file was never completed, so nothing was shared; try again later.
        _retry(engine, clock, claim, policy, error=f"upload: {exc}"[:500], in_doubt=True)
        _note_if_dead(engine, clock, claim)
        return False
    except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
        _retry(engine, clock, claim, policy, error=f"{type(exc).__name__}: {exc}", in_doubt=True)
        _note_if_dead(engine, clock, claim)
        return False
    files = response.get("files") or [{}]
    _record_sent(engine, clock, claim, channel, str(files[0].get("id") or ""))
    return True


def find_upload(
    client: WebClient, channel: str, thread_ts: str, filename: str, policy: DeliveryPolicy
) -> str | None:
    """The id of a file named `filename` already shared in the thread, if any."""
    cursor: str | None = None
    for _ in range(policy.history_pages):
        kwargs: dict[str, Any] = {"channel": channel, "ts": thread_ts, "limit": policy.history_limit}
        if cursor:
            kwargs["cursor"] = cursor
        try:
            page = client.conversations_replies(**kwargs)
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 200)
            if status == 429 or status >= 500 or exc.response.get("error") in RETRYABLE_ERRORS:
                raise
            log.warning(
                "outbox: cannot check the thread for %s (%s); uploading", filename, exc.response.get("error")
            )
            return None
        for message in page.get("messages", []):
            for f in message.get("files") or []:
                if f.get("name") == filename:
                    return str(f.get("id"))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def _note_if_dead(engine: Any, clock: Clock, claim: _Claim) -> None:
    """A chart that will not be uploaded: say so in the thread (a message of its own)."""
    with session_scope(engine) as session:
        row = session.exec(select(Outbox).where(Outbox.id == claim.id)).first()
        if row is None or row.state != "dead":
            return
        enqueue(
            session,
            clock,
            key=f"{claim.key}:missing",
            text=(
                ":warning: The chart is missing this week: it could not be uploaded "
                f"({row.last_error}). Every figure is in the message above."
            ),
            channel=row.channel,
            thread_key=claim.thread_key,
            priority=BULK,
        )
