"""Writing to the Outbox: the only way the bot posts on its own (PRODUCT.md
§6.1). The row is written in the caller's transaction; the delivery worker
(jobs/outbox.py) sends it once the transaction commits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.clock import Clock
from models.tables import Outbox

METADATA_EVENT_TYPE = "csbot_outbox"
URGENT, NORMAL, BULK = 0, 1, 2


def enqueue(
    session: Session,
    clock: Clock,
    *,
    key: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    channel: str | None = None,
    dm_user: str | None = None,
    thread_key: str | None = None,
    thread_ts: str | None = None,
    update_key: str | None = None,
    priority: int = NORMAL,
    permalink_of: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Outbox:
    """Queue one message; the same key queued twice is one message.

    Targets: `channel`, or `dm_user` (a DM), optionally in the thread of the
    Outbox row `thread_key` (delivered after it) or of a known `thread_ts`.
    `update_key` makes it a chat.update of that row's message instead.
    `permalink_of`: the key of another row; `{permalink}` in text and blocks
    becomes that message's permalink once it is posted (a DM linking to a thread).
    """
    if (channel is None) == (dm_user is None) and update_key is None:
        raise ValueError("enqueue needs exactly one of channel or dm_user")
    existing = session.exec(select(Outbox).where(Outbox.key == key)).first()
    if existing is not None:
        return existing
    payload: dict[str, Any] = {"text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    if permalink_of is not None:
        payload["permalink_of"] = permalink_of
    if extra:
        payload.update(extra)
    now = clock.now()
    row = Outbox(
        key=key,
        method="chat.update" if update_key else "chat.postMessage",
        channel=channel,
        dm_user=dm_user,
        thread_key=thread_key,
        thread_ts=thread_ts,
        update_key=update_key,
        payload=payload,
        priority=priority,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


UPLOAD_METHOD = "files.upload_v2"


def enqueue_upload(
    session: Session,
    clock: Clock,
    *,
    key: str,
    parent_key: str,
    channel: str,
    filename: str,
    title: str,
    content_b64: str,
    alt_txt: str,
    priority: int = BULK,
) -> Outbox:
    """Queue a file for the thread of the Outbox row `parent_key` (a digest's chart),
    sent by files_upload_v2 once that message is posted; the same key is one upload.
    `filename` is derived from `key`, so a delivery that may have half-succeeded can
    recognise the file in the thread instead of uploading it again."""
    existing = session.exec(select(Outbox).where(Outbox.key == key)).first()
    if existing is not None:
        return existing
    now = clock.now()
    row = Outbox(
        key=key,
        method=UPLOAD_METHOD,
        channel=channel,
        thread_key=parent_key,
        payload={"filename": filename, "title": title, "alt_txt": alt_txt, "content_b64": content_b64},
        priority=priority,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
