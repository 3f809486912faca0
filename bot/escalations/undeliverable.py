"""When Slack refuses a page for good (PRODUCT.md §5, §6.3), people hear about it:
the opener gets a follow-up saying what failed and what to do, and the owner is
still paged by DM (the DM goes out without the thread link, see jobs/outbox.py).
Admins are told by the delivery wing's dead-message report."""

from __future__ import annotations

from sqlmodel import Session

from bot.clock import Clock
from bot.delivery.outbox import URGENT, enqueue
from bot.slack.escape import escape
from models.tables import Account, Escalation


def page_undeliverable(
    session: Session,
    clock: Clock,
    escalation_id: int,
    *,
    key: str,
    error: str,
    dm_user: str | None,
    channel: str | None,
) -> bool:
    """Queue the opener's follow-up about the dead page `key`; False when nothing needs saying.

    Only the pages people wait for are reported to the opener: the parent post
    and a DM. A thread reply or an edit that died with its parent says nothing
    more (the parent's follow-up covers it)."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        return False
    account = session.get(Account, esc.account_id)
    name = account.name if account is not None else f"account {esc.account_id}"
    what = f"escalation #{esc.id} ({esc.severity.upper()} for *{escape(name)}*)"
    if key == esc.parent_key:
        text = (
            f":warning: I could not post {what}: the escalations channel <#{channel}> refused the post "
            f"(`{error}`). Invite me with `/invite @csbot` there — I will page <@{esc.owner_slack_id}> "
            "by DM meanwhile. The admins are told and can retry it."
        )
    elif dm_user is not None:
        text = (
            f":warning: I could not page <@{dm_user}> by DM for {what}: Slack refused it (`{error}`). "
            "Please reach them another way; the admins are told."
        )
    else:
        return False
    enqueue(session, clock, key=f"{key}:undeliverable", text=text, dm_user=esc.opened_by, priority=URGENT)
    return True
