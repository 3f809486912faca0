"""Acting on an at-risk alert from its buttons (PRODUCT.md §4)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot import audit
from bot.clock import Clock
from bot.errors import BadInput, NotFound
from bot.slack.escape import escape
from models.tables import Account, Alert

SNOOZE = timedelta(days=7)  # "Snooze 7 days" on the alert


def account_from_button(session: Session, value: str) -> Account:
    """The account an alert button names (its value is the account id)."""
    try:
        account_id = int(value)
    except (TypeError, ValueError):
        raise BadInput("That button is not valid any more.") from None
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("That account no longer exists.")
    return account


def snooze(session: Session, clock: Clock, user_id: str, value: str, *, length: timedelta = SNOOZE) -> str:
    """Quiet the account's open at-risk alert for `days`: no channel is posted
    anything about it until then, and the nightly job makes it news again if it is
    still at risk (posted at each channel's next time)."""
    account = account_from_button(session, value)
    alert = session.exec(
        select(Alert)
        .where(Alert.account_id == account.id, Alert.state == "open", Alert.kind == "at_risk")
        .order_by(Alert.id.desc())  # type: ignore[union-attr]
    ).first()
    if alert is None:
        return f"*{escape(account.name)}* is not at risk any more; there is nothing to snooze."
    now = clock.now()
    alert.snoozed_until = now + length
    session.add(alert)
    audit.record(
        session,
        now,
        user_id,
        "alert.snooze",
        "alert",
        alert.id,
        {"account_id": account.id, "until": alert.snoozed_until.isoformat()},
    )
    session.flush()
    return (
        f":zzz: Snoozed alerts for *{escape(account.name)}* until {alert.snoozed_until:%a %b %d} "
        f"(<@{user_id}>). If it is still at risk then, it will be posted again."
    )
