"""`/cs escalations [mine|all]`: the open escalations as plain rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.tables import Account, Escalation, Outbox

# --- listing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenEscalationRow:
    id: int
    severity: str
    account_name: str
    summary: str
    owner: str
    status: str
    opened_at: datetime
    channel: str | None
    ts: str | None


def open_escalations(
    session: Session, *, owner: str | None = None, limit: int = 20
) -> tuple[list[OpenEscalationRow], int]:
    """Escalations not resolved (all, or one owner's), most severe then oldest first; and the total."""
    query = (
        select(Escalation, Account.name, Outbox.posted_channel, Outbox.posted_ts)
        .join(Account, col(Account.id) == Escalation.account_id)
        .join(Outbox, col(Outbox.key) == Escalation.parent_key, isouter=True)
        .where(Escalation.status != "resolved")
    )
    if owner is not None:
        query = query.where(Escalation.owner_slack_id == owner)
    rows = session.exec(query.order_by(col(Escalation.severity), col(Escalation.opened_at))).all()
    out = [
        OpenEscalationRow(
            id=esc.id or 0,
            severity=esc.severity,
            account_name=name,
            summary=esc.summary,
            owner=esc.owner_slack_id,
            status=esc.status,
            opened_at=esc.opened_at,
            channel=channel or esc.channel_id,
            ts=ts or esc.thread_ts,
        )
        for esc, name, channel, ts in rows
    ]
    return out[:limit], len(out)
