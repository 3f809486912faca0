"""Writing a change to an escalation: the row, an EscalationEvent, a thread reply
and a chat.update of the parent, in one transaction through the Outbox (PRODUCT.md
§5, §6.3). The rows are locked for the change so two people acting at once act
one after the other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import audit
from bot.clock import Clock
from bot.delivery.outbox import URGENT, enqueue
from bot.errors import BadInput, NotFound
from bot.escalations.blocks import (
    escalation_parent,
    parent_text,
    slack_time,
)
from bot.escalations.card import card_for
from bot.escalations.chain import require_may
from bot.settings import Settings
from bot.slack.escape import escape
from models.tables import Account, Escalation, EscalationEvent, Outbox

# --- writing a change ------------------------------------------------------------------


def load_escalation(session: Session, escalation_id: int) -> Escalation:
    # Locked for the change (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes):
    # two people clicking at once act one after the other, and the second sees the first.
    esc = session.get(Escalation, escalation_id, with_for_update=True, populate_existing=True)
    if esc is None:
        raise NotFound(f"Escalation #{escalation_id} does not exist.")
    return esc


def sync_thread(session: Session, esc: Escalation) -> None:
    """Copy the parent's channel + ts onto the escalation once the Outbox posted it."""
    if esc.thread_ts is None and esc.parent_key:
        posted = session.exec(
            select(Outbox.posted_channel, Outbox.posted_ts).where(Outbox.key == esc.parent_key)
        ).first()
        if posted is not None and posted[1]:
            esc.channel_id, esc.thread_ts = posted[0] or esc.channel_id, posted[1]


def record_change(
    session: Session,
    clock: Clock,
    esc: Escalation,
    *,
    kind: str,
    actor: str | None,
    thread_text: str,
    detail: dict[str, Any] | None = None,
    page: list[str] | None = None,
    dm_text: str | None = None,
    key_base: str | None = None,
) -> EscalationEvent:
    """The event row, the thread reply, DMs to the paged people, the parent update."""
    now = clock.now()
    sync_thread(session, esc)
    session.add(esc)
    event = EscalationEvent(
        escalation_id=esc.id, at=now, actor_slack_id=actor, kind=kind, detail=dict(detail or {})
    )
    session.add(event)
    session.flush()
    base = key_base or f"esc:{esc.id}:ev:{event.id}"
    thread_key = f"{base}:thread"
    enqueue(
        session,
        clock,
        key=thread_key,
        text=thread_text,
        channel=esc.channel_id,
        thread_key=esc.parent_key,
        priority=URGENT,
        escalation_id=esc.id,
    )
    for user in page or []:
        enqueue(
            session,
            clock,
            key=f"{base}:dm:{user}",
            text=(dm_text or thread_text) + "\nOpen the thread: {permalink}",
            dm_user=user,
            permalink_of=thread_key,
            priority=URGENT,
            escalation_id=esc.id,
        )
    update_parent(session, clock, esc, event, key=f"{base}:parent")
    return event


def update_parent(
    session: Session, clock: Clock, esc: Escalation, event: EscalationEvent, *, key: str
) -> None:
    card = card_for(session, esc, event)
    text, blocks = parent_text(card), escalation_parent(card)
    # Older updates of the same message still waiting (e.g. retried after a 429)
    # get the current content too, so whichever chat.update lands last shows the
    # current state, in whatever order the worker delivers them.
    session.execute(
        update(Outbox)
        .where(
            col(Outbox.update_key) == esc.parent_key,
            col(Outbox.state) == "pending",
            col(Outbox.key).like(f"esc:{esc.id}:%:parent"),
        )
        .values(payload={"text": text, "blocks": blocks})
        .execution_options(synchronize_session=False)
    )
    enqueue(
        session,
        clock,
        key=key,
        text=text,
        blocks=blocks,
        update_key=esc.parent_key,
        priority=URGENT,
        escalation_id=esc.id,
    )


def audit_change(
    session: Session, clock: Clock, actor: str, action: str, esc: Escalation, **detail: Any
) -> None:
    audit.record(session, clock.now(), actor, f"escalation.{action}", "escalation", esc.id, detail)


def load_to_change(
    session: Session, settings: Settings, escalation_id: int, user_id: str, doing: str, *, opener: bool
) -> Escalation:
    """The escalation a user action changes, once it is still live and the user may `doing` it."""
    esc = load_escalation(session, escalation_id)
    check_may_change(session, settings, esc, user_id, doing, opener=opener)
    return esc


def check_may_change(
    session: Session, settings: Settings, esc: Escalation, user_id: str, doing: str, *, opener: bool
) -> None:
    refuse_if_resolved(esc)
    require_may(session, settings, esc, user_id, doing, opener=opener)


def refuse_if_resolved(esc: Escalation) -> None:
    if esc.status == "resolved" and esc.resolved_at is not None:
        raise BadInput(
            f"Escalation #{esc.id} was already resolved by <@{esc.resolved_by}> "
            f"{slack_time(esc.resolved_at)}. Nothing was changed."
        )


def account_name(session: Session, esc: Escalation) -> str:
    account = session.get(Account, esc.account_id)
    return account.name if account else f"account {esc.account_id}"


def page_dm(session: Session, esc: Escalation, why: str) -> str:
    name = account_name(session, esc)
    return (
        f":rotating_light: {why} {esc.severity.upper()} escalation for *{escape(name)}*, owned by "
        f"<@{esc.owner_slack_id}> — {escape(esc.summary[:300])}"
    )


def check_may_resolve(session: Session, settings: Settings, esc: Escalation, user_id: str) -> None:
    """Before opening the Resolve modal: refuse early rather than after the typing."""
    check_may_change(session, settings, esc, user_id, "resolve", opener=True)
