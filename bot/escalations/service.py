"""Escalations (PRODUCT.md §5): open, acknowledge, resolve, reassign, escalate,
add a note. (The policy step the scheduler runs is in policy_step.py.)

Every change is, in one transaction: the Escalation row, an EscalationEvent,
a reply in the escalation's thread, a chat.update of the parent message (so it
always shows the current state) and, when someone is paged, a DM with a link
to the thread — all through the Outbox, delivered after commit.

Who may do what (checked in chain.py, refused with NotAllowed and nothing written):
  - open: anyone in the workspace (PRODUCT.md §2);
  - add a note: anyone (notes are information, and the thread is public);
  - acknowledge, reassign: the owner, anyone up the owner's manager chain
    (Member.manager_slack_id, transitively), the CS execs (the top of the chain
    the policy pages) and admins;
  - resolve, escalate now: the same people, plus whoever opened it (the person
    facing the customer knows when it is fixed, or that it needs more help).
A resolved escalation is final: its buttons disappear and actions on stale
buttons are refused with a sentence saying who resolved it, and when.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.clock import Clock
from bot.delivery.outbox import URGENT, enqueue
from bot.errors import BadInput, NotFound
from bot.escalations.blocks import (
    escalation_parent,
    format_duration,
    parent_text,
)
from bot.escalations.card import card_for
from bot.escalations.chain import levels_above
from bot.escalations.changes import (
    account_name,
    audit_change,
    load_escalation,
    load_to_change,
    page_dm,
    record_change,
)
from bot.escalations.policy import SEVERITIES, EscalationPolicy, next_due, sla_text
from bot.escalations.stats import durations
from bot.settings import Settings
from bot.slack.escape import escape
from models.tables import Account, Escalation, EscalationEvent

# --- the actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    escalation_id: int
    account_name: str
    severity: str
    owner: str
    channel: str
    sla: str


def open_escalation(
    session: Session,
    clock: Clock,
    *,
    account_id: int,
    severity: str,
    summary: str,
    owner: str,
    opened_by: str,
    channel: str | None,
    policy: EscalationPolicy,
) -> Opened:
    """Open an escalation: parent message, thread with the owner @-mentioned, DM to the owner."""
    if severity not in SEVERITIES:
        raise BadInput(f"Severity must be sev1, sev2 or sev3, not {severity!r}.")
    if not channel:
        raise BadInput(
            "No escalations channel is set up (CSBOT_ESCALATION_CHANNEL): ask an admin. Nothing was opened."
        )
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("That account no longer exists. Nothing was opened.")
    now = clock.now()
    snapshot = policy.snapshot(severity)
    esc = Escalation(
        account_id=account_id,
        severity=severity,
        summary=summary.strip(),
        owner_slack_id=owner,
        opened_by=opened_by,
        status="open",
        level=0,
        channel_id=channel,
        policy=snapshot,
        step=0,
        next_page_at=next_due(snapshot, now),
        opened_at=now,
    )
    session.add(esc)
    session.flush()
    esc.parent_key = f"esc:{esc.id}:parent"
    session.add(esc)
    event = EscalationEvent(
        escalation_id=esc.id, at=now, actor_slack_id=opened_by, kind="opened", detail={"owner": owner}
    )
    session.add(event)
    session.flush()
    card = card_for(session, esc, event)
    enqueue(
        session,
        clock,
        key=esc.parent_key,
        text=parent_text(card),
        blocks=escalation_parent(card),
        channel=channel,
        priority=URGENT,
        escalation_id=esc.id,
    )
    sla = sla_text(snapshot)
    thread_key = f"esc:{esc.id}:open:thread"
    enqueue(
        session,
        clock,
        key=thread_key,
        text=(
            f"<@{owner}>, you own this {severity.upper()} escalation for *{escape(account.name)}*, opened by "
            f"<@{opened_by}>. Please acknowledge within {sla} with the button above; "
            "otherwise it is paged up the chain."
        ),
        channel=channel,
        thread_key=esc.parent_key,
        priority=URGENT,
        escalation_id=esc.id,
    )
    enqueue(
        session,
        clock,
        key=f"esc:{esc.id}:open:dm",
        text=(
            f":rotating_light: You were paged: {severity.upper()} escalation for *{escape(account.name)}* — "
            f"{escape(esc.summary[:300])}\nAcknowledge within {sla}: {{permalink}}"
        ),
        dm_user=owner,
        permalink_of=thread_key,
        priority=URGENT,
        escalation_id=esc.id,
    )
    audit_change(session, clock, opened_by, "open", esc, severity=severity, owner=owner)
    session.flush()
    return Opened(esc.id or 0, account.name, severity, owner, channel, sla)


def acknowledge(session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str) -> str:
    """Stop the policy clock. Owner, their chain, CS execs, admins."""
    esc = load_to_change(session, settings, escalation_id, user_id, "acknowledge", opener=False)
    if esc.status == "acknowledged":
        raise BadInput(
            f"Escalation #{esc.id} is already acknowledged by <@{esc.acknowledged_by}>. Nothing was changed."
        )
    now = clock.now()
    esc.status = "acknowledged"
    if esc.acknowledged_at is None:
        esc.acknowledged_at = now  # the first acknowledgement is the one the metrics count
    esc.acknowledged_by = user_id
    esc.next_page_at = None
    waited = format_duration(now - esc.opened_at)
    record_change(
        session,
        clock,
        esc,
        kind="acknowledged",
        actor=user_id,
        thread_text=f":eyes: <@{user_id}> acknowledged ({waited} after opening). Paging stopped.",
    )
    audit_change(session, clock, user_id, "acknowledge", esc)
    return f"You acknowledged escalation #{esc.id}; paging stopped."


def resolve(
    session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str, note: str
) -> str:
    """End it, with a resolution note; records time to acknowledge and to resolve."""
    esc = load_to_change(session, settings, escalation_id, user_id, "resolve", opener=True)
    note = (note or "").strip()
    if not note:
        raise BadInput("Write a resolution note: what fixed it. Nothing was changed.")
    now = clock.now()
    if esc.acknowledged_at is None:
        esc.acknowledged_at = now
        esc.acknowledged_by = user_id
    esc.status = "resolved"
    esc.resolved_at = now
    esc.resolved_by = user_id
    esc.resolution = note
    esc.next_page_at = None
    tta, ttr = durations(esc)
    assert tta is not None and ttr is not None
    record_change(
        session,
        clock,
        esc,
        kind="resolved",
        actor=user_id,
        detail={
            "note": note,
            "tta_seconds": int(tta.total_seconds()),
            "ttr_seconds": int(ttr.total_seconds()),
        },
        thread_text=(
            f":white_check_mark: Resolved by <@{user_id}>: {escape(note)}\n"
            f"Time to acknowledge {format_duration(tta)} · time to resolve {format_duration(ttr)}"
        ),
    )
    audit_change(session, clock, user_id, "resolve", esc)
    return f"Escalation #{esc.id} is resolved."


def reassign(
    session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str, new_owner: str
) -> str:
    """Hand it to someone else, who is paged; their SLA starts now."""
    esc = load_to_change(session, settings, escalation_id, user_id, "reassign", opener=False)
    if not new_owner:
        raise BadInput("Pick the person to reassign it to.")
    if new_owner == esc.owner_slack_id:
        raise BadInput(f"<@{new_owner}> already owns escalation #{esc.id}. Nothing was changed.")
    old = esc.owner_slack_id
    now = clock.now()
    esc.owner_slack_id = new_owner
    esc.status = "open"
    esc.level = 0
    esc.step = 0
    esc.next_page_at = next_due(esc.policy, now)
    sla = sla_text(esc.policy)
    name = account_name(session, esc)
    record_change(
        session,
        clock,
        esc,
        kind="reassigned",
        actor=user_id,
        detail={"from": old, "to": new_owner, "owner": new_owner},
        thread_text=(
            f":arrows_counterclockwise: <@{user_id}> reassigned this from <@{old}> to <@{new_owner}>. "
            f"<@{new_owner}>, you own it now: please acknowledge within {sla}."
        ),
        page=[new_owner],
        dm_text=(
            f":rotating_light: <@{user_id}> assigned you the {esc.severity.upper()} escalation "
            f"for *{escape(name)}* — "
            f"{escape(esc.summary[:300])}\nAcknowledge within {sla}."
        ),
    )
    audit_change(session, clock, user_id, "reassign", esc, old=old, new=new_owner)
    return f"Escalation #{esc.id} now belongs to <@{new_owner}>, who has been paged."


def escalate_now(session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str) -> str:
    """Page the next level up the chain now (the policy keeps running)."""
    esc = load_to_change(session, settings, escalation_id, user_id, "escalate", opener=True)
    levels = levels_above(session, esc.owner_slack_id)
    if esc.level >= len(levels):
        if not levels:
            raise BadInput(
                f"Nobody is above <@{esc.owner_slack_id}> to page: add their manager or a CS exec with "
                "`/cs team add`. Nothing was changed."
            )
        raise BadInput(
            "Everyone up the chain, up to the CS execs, has been paged already. Nothing was changed."
        )
    label, users = levels[esc.level]
    esc.level += 1
    mentions = ", ".join(f"<@{u}>" for u in users)
    record_change(
        session,
        clock,
        esc,
        kind="escalated",
        actor=user_id,
        detail={"level": esc.level, "paged": users, "owner": esc.owner_slack_id},
        thread_text=f":arrow_double_up: <@{user_id}> escalated: paging {mentions} ({label}).",
        page=users,
        dm_text=page_dm(session, esc, f"<@{user_id}> escalated this to you ({label})."),
    )
    audit_change(session, clock, user_id, "escalate", esc, level=esc.level, paged=users)
    return f"Paged {mentions} on escalation #{esc.id}."


def add_note(session: Session, clock: Clock, escalation_id: int, user_id: str, note: str) -> str:
    """A note in the thread and the timeline; anyone may add one."""
    esc = load_escalation(session, escalation_id)
    note = (note or "").strip()
    if not note:
        raise BadInput("The note is empty. Nothing was posted.")
    record_change(
        session,
        clock,
        esc,
        kind="note",
        actor=user_id,
        detail={"note": note},
        thread_text=f":memo: Note from <@{user_id}>: {escape(note)}",
    )
    audit_change(session, clock, user_id, "note", esc)
    return f"Your note is posted in escalation #{esc.id}'s thread."
