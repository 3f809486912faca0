"""Recording a touchpoint: the row and its audit row in one transaction, once
per idempotency key (a Slack retry, a double click or a double submit of the
same thing records one touchpoint and answers with the same confirmation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import audit
from bot.clock import Clock
from bot.errors import NotFound
from models.db import session_scope
from models.tables import Account, Touchpoint

_TP = Touchpoint.__table__  # type: ignore[attr-defined]
# Built once: parameters go in at execute time, so each log reuses the cached
# compiled statement instead of building and hashing fresh bound literals.
_INSERT_TP = insert(_TP).returning(_TP.c.id)


@dataclass(frozen=True)
class TouchpointDraft:
    """A touchpoint ready to record: account resolved, time in UTC."""

    account_id: int
    type: str
    occurred_at: datetime
    note: str
    tags: tuple[str, ...] = ()
    sentiment: int = 0
    permalink: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What was recorded, for the confirmation."""

    id: int
    account_id: int
    account_name: str
    author_slack_id: str
    type: str
    occurred_at: datetime
    note: str
    tags: tuple[str, ...]
    sentiment: int
    permalink: str | None
    created: bool  # False when this key had already been recorded


def record_touchpoint(
    session: Session,
    clock: Clock,
    author: str,
    draft: TouchpointDraft,
    *,
    account_name: str,
    idempotency_key: str | None,
    source: str,
) -> Recorded:
    """Insert the touchpoint and its audit row (two statements, no ORM refresh)."""
    now = clock.now()
    tp_id = session.execute(
        _INSERT_TP,
        {
            "account_id": draft.account_id,
            "author_slack_id": author,
            "type": draft.type,
            "occurred_at": draft.occurred_at,
            "note": draft.note,
            "sentiment": draft.sentiment,
            "tags": list(draft.tags),
            "permalink": draft.permalink,
            "idempotency_key": idempotency_key,
            "created_at": now,
        },
    ).scalar_one()
    detail = {"account_id": draft.account_id, "type": draft.type, "source": source}
    audit.record(session, now, author, "touchpoint.create", "touchpoint", tp_id, detail, core=True)
    return Recorded(
        id=tp_id,
        account_id=draft.account_id,
        account_name=account_name,
        author_slack_id=author,
        type=draft.type,
        occurred_at=draft.occurred_at,
        note=draft.note,
        tags=draft.tags,
        sentiment=draft.sentiment,
        permalink=draft.permalink,
        created=True,
    )


def recorded_by_key(session: Session, key: str) -> Recorded | None:
    row = session.execute(
        select(Touchpoint, Account.name)
        .join(Account, Account.id == Touchpoint.account_id)
        .where(Touchpoint.idempotency_key == key)
    ).first()
    if row is None:
        return None
    tp, name = row
    return Recorded(
        id=tp.id,
        account_id=tp.account_id,
        account_name=name,
        author_slack_id=tp.author_slack_id,
        type=tp.type,
        occurred_at=tp.occurred_at,
        note=tp.note,
        tags=tuple(tp.tags or ()),
        sentiment=tp.sentiment,
        permalink=tp.permalink,
        created=False,
    )


def record_once(
    engine: Engine,
    clock: Clock,
    author: str,
    draft: TouchpointDraft,
    *,
    account_name: str,
    idempotency_key: str,
    source: str,
) -> Recorded:
    """Record in its own transaction; if the key was already recorded, return
    that touchpoint instead (the unique index decides, so two replicas racing
    on the same key still record once)."""
    try:
        with session_scope(engine) as session:
            return record_touchpoint(
                session,
                clock,
                author,
                draft,
                account_name=account_name,
                idempotency_key=idempotency_key,
                source=source,
            )
    except IntegrityError:
        with session_scope(engine) as session:
            existing = recorded_by_key(session, idempotency_key)
            if existing is not None:
                return existing
            if session.get(Account, draft.account_id) is None:
                raise NotFound("That account no longer exists; nothing was saved.") from None
        raise
