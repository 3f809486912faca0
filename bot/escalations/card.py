"""The escalation's parent message content as it stands now: account facts,
health, who was paged, the last action (PRODUCT.md §5: one message per thing,
updated in place)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.escalations.blocks import (
    EscalationCard,
)
from bot.escalations.policy import sla_text
from bot.escalations.stats import durations
from models.tables import Account, Escalation, EscalationEvent, HealthSnapshot

# --- rendering -------------------------------------------------------------------------


_EVENT_LABEL = {
    "opened": "Opened by",
    "acknowledged": "Acknowledged by",
    "resolved": "Resolved by",
    "reassigned": "Reassigned by",
    "escalated": "Escalated by",
    "note": "Note by",
    "repaged": "Re-paged by the policy",
    "paged_next_level": "Paged up the chain by the policy",
}


def card_for(session: Session, esc: Escalation, last: EscalationEvent | None = None) -> EscalationCard:
    """The parent message's content for the escalation as it is now."""
    account = session.get(Account, esc.account_id)
    assert account is not None
    health = session.exec(
        select(HealthSnapshot)
        .where(HealthSnapshot.account_id == esc.account_id)
        .order_by(col(HealthSnapshot.date).desc())
        .limit(1)
    ).first()
    if last is None:
        last = session.exec(
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == esc.id)
            .order_by(col(EscalationEvent.id).desc())
            .limit(1)
        ).first()
    paged = session.exec(
        select(EscalationEvent.detail)
        .where(
            EscalationEvent.escalation_id == esc.id,
            col(EscalationEvent.kind).in_(["escalated", "paged_next_level"]),
        )
        .order_by(col(EscalationEvent.id))
    ).all()
    paged_users: list[str] = []
    for detail in paged:
        if detail.get("owner") != esc.owner_slack_id:
            continue  # pages of an earlier owner's chain
        for user in detail.get("paged", []):
            if user not in paged_users:
                paged_users.append(user)
    last_action = None
    if last is not None:
        label = _EVENT_LABEL.get(last.kind, last.kind)
        last_action = f"{label} <@{last.actor_slack_id}>" if last.actor_slack_id else label
    tta, ttr = durations(esc)
    return EscalationCard(
        id=esc.id or 0,
        severity=esc.severity,
        status=esc.status,
        summary=esc.summary,
        account_name=account.name,
        arr_cents=account.arr_cents,
        renewal_date=account.renewal_date,
        health_score=health.score if health else None,
        health_band=health.band if health else None,
        owner=esc.owner_slack_id,
        opened_by=esc.opened_by,
        opened_at=esc.opened_at,
        sla=sla_text(esc.policy),
        paged=tuple(paged_users),
        last_action=last_action,
        last_action_at=last.at if last is not None else None,
        resolution=esc.resolution,
        time_to_ack=tta,
        time_to_resolve=ttr,
    )
