"""Escalations (PRODUCT.md §5): open, acknowledge, resolve, reassign, escalate,
add a note — and the policy step the scheduler runs when an SLA is missed.

Every change is, in one transaction: the Escalation row, an EscalationEvent,
a reply in the escalation's thread, a chat.update of the parent message (so it
always shows the current state) and, when someone is paged, a DM with a link
to the thread — all through the Outbox, delivered after commit.

Who may do what (checked here, refused with NotAllowed and nothing written):
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

import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import audit
from bot.accounts.matching import AccountIndex
from bot.clock import Clock
from bot.delivery.outbox import URGENT, enqueue
from bot.errors import BadInput, NotAllowed, NotFound
from bot.escalations.blocks import (
    EscalationCard,
    escalation_parent,
    format_duration,
    parent_text,
    slack_time,
)
from bot.escalations.policy import SEVERITIES, EscalationPolicy, next_due, sla_text, step_kind
from bot.settings import Settings
from bot.slack.mentions import mentioned_user
from models.tables import Account, Escalation, EscalationEvent, HealthSnapshot, Member, Outbox

USAGE = "/cs escalate <account> <sev1|sev2|sev3> [@owner] <summary...>"
_SEVERITY = re.compile(r"^sev([123])$", re.IGNORECASE)
MAX_CHAIN = 10  # manager chains longer than this are a data error; stop walking


# --- parsing `/cs escalate` ------------------------------------------------------------


@dataclass(frozen=True)
class EscalateRequest:
    account_id: int
    account_name: str
    severity: str
    owner_id: str | None  # None: the account's CSM
    summary: str


def parse_escalate(args: str, accounts: AccountIndex) -> EscalateRequest:
    """`<account> <sev> [@owner] <summary>`; the account may be several words.

    Raises BadInput (nothing written) with the right form, or the candidate
    accounts when the name is ambiguous or unknown."""
    form = f"Use: `{USAGE}`, e.g. `/cs escalate Acme sev1 @casey checkout is down for all users`"
    tokens = args.split()
    sev_at = next((i for i, t in enumerate(tokens) if _SEVERITY.match(t)), None)
    if not tokens or sev_at is None:
        raise BadInput(f"Say how severe it is: sev1, sev2 or sev3.\n{form}")
    if sev_at == 0:
        raise BadInput(f"Name the account first.\n{form}")
    account_text = " ".join(tokens[:sev_at])
    severity = tokens[sev_at].lower()
    rest = tokens[sev_at + 1 :]
    owner_id = None
    if rest and rest[0].startswith("<@"):
        owner_id = mentioned_user(rest[0])
        if owner_id is None:
            raise BadInput(f"I could not read the owner {rest[0]!r}: @-mention one person.\n{form}")
        rest = rest[1:]
    elif rest and rest[0].startswith("@"):
        raise BadInput(
            f"I could not read the owner {rest[0]!r}: pick the person from Slack's @-mention list.\n{form}"
        )
    summary = " ".join(rest).strip()
    if not summary:
        raise BadInput(f"Add a summary: what is wrong, for whom.\n{form}")
    found = accounts.match(account_text)
    ref = found.unique
    if ref is None:
        if found.candidates:
            names = ", ".join(f"*{c.name}*" for c in found.candidates)
            raise BadInput(f"“{account_text}” matches several accounts: {names}. Type more of the name.")
        close = ", ".join(f"*{c.name}*" for c in found.suggestions)
        hint = f" Closest: {close}." if close else ""
        raise BadInput(f"No account matches “{account_text}”.{hint} Nothing was opened.")
    return EscalateRequest(ref.id, ref.name, severity, owner_id, summary)


def default_owner(session: Session, parsed: EscalateRequest) -> str:
    """No @owner typed: the account's CSM owns it; BadInput when the account has none."""
    account = session.get(Account, parsed.account_id)
    owner = account.csm_slack_id if account is not None else None
    if not owner:
        raise BadInput(
            f"*{parsed.account_name}* has no CSM on record: name the owner, e.g. "
            f"`/cs escalate {parsed.account_name} {parsed.severity} @someone {parsed.summary[:40]}`. "
            "Nothing was opened."
        )
    return owner


# --- the chain of people ---------------------------------------------------------------


def manager_chain(session: Session, user_id: str) -> list[str]:
    """The user's manager, their manager, … (from the Member table)."""
    chain: list[str] = []
    current = user_id
    for _ in range(MAX_CHAIN):
        member = session.get(Member, current)
        manager = member.manager_slack_id if member is not None else None
        if not manager or manager == user_id or manager in chain:
            break
        chain.append(manager)
        current = manager
    return chain


def cs_execs(session: Session) -> list[str]:
    return list(
        session.exec(select(Member.slack_id).where(Member.role == "exec").order_by(Member.slack_id)).all()
    )


def levels_above(session: Session, owner: str) -> list[tuple[str, list[str]]]:
    """Who the policy pages above the owner, in order: their manager, then the CS execs."""
    levels: list[tuple[str, list[str]]] = []
    chain = manager_chain(session, owner)
    if chain:
        levels.append((f"manager of <@{owner}>", [chain[0]]))
    execs = [e for e in cs_execs(session) if e != owner and e not in chain[:1]]
    if execs:
        levels.append(("CS exec" + ("s" if len(execs) > 1 else ""), execs))
    return levels


def _is_admin(session: Session, settings: Settings, user_id: str) -> bool:
    if user_id in settings.admins:
        return True
    member = session.get(Member, user_id)
    return member is not None and member.role == "admin"


def may_act(session: Session, settings: Settings, esc: Escalation, user_id: str) -> bool:
    """Owner, up the owner's chain, CS execs, admins."""
    if user_id == esc.owner_slack_id or _is_admin(session, settings, user_id):
        return True
    if user_id in manager_chain(session, esc.owner_slack_id):
        return True
    member = session.get(Member, user_id)
    return member is not None and member.role == "exec"


def _require(
    session: Session, settings: Settings, esc: Escalation, user_id: str, doing: str, *, opener: bool
) -> None:
    if may_act(session, settings, esc, user_id) or (opener and user_id == esc.opened_by):
        return
    who = f"the owner <@{esc.owner_slack_id}>, their managers, a CS exec"
    if opener:
        who += f", <@{esc.opened_by}> who opened it"
    raise NotAllowed(f"Only {who} or an admin can {doing} escalation #{esc.id}. Nothing was changed.")


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


# --- durations (the digest reads these) -----------------------------------------------


def durations(esc: Escalation) -> tuple[timedelta | None, timedelta | None]:
    """(time to acknowledge, time to resolve), None while not reached.

    Time to acknowledge runs to the first acknowledgement; an escalation
    resolved without one counts its resolution as the first response."""
    tta = esc.acknowledged_at - esc.opened_at if esc.acknowledged_at else None
    ttr = esc.resolved_at - esc.opened_at if esc.resolved_at else None
    return tta, ttr


@dataclass(frozen=True)
class EscalationStats:
    opened: int
    resolved: int
    median_time_to_ack: timedelta | None
    median_time_to_resolve: timedelta | None


def escalation_stats(session: Session, start: datetime, end: datetime) -> EscalationStats:
    """Opened and resolved in [start, end), with the median durations of those
    resolved in it (PRODUCT.md §6 "Escalations"). Two set-based queries."""
    opened = len(
        session.exec(
            select(Escalation.id).where(Escalation.opened_at >= start, Escalation.opened_at < end)
        ).all()
    )
    rows = session.exec(
        select(Escalation.opened_at, Escalation.acknowledged_at, Escalation.resolved_at).where(
            Escalation.status == "resolved",
            col(Escalation.resolved_at) >= start,
            col(Escalation.resolved_at) < end,
        )
    ).all()
    ttas = [(ack - opened_at).total_seconds() for opened_at, ack, _ in rows if ack is not None]
    ttrs = [(res - opened_at).total_seconds() for opened_at, _, res in rows if res is not None]
    return EscalationStats(
        opened=opened,
        resolved=len(rows),
        median_time_to_ack=timedelta(seconds=statistics.median(ttas)) if ttas else None,
        median_time_to_resolve=timedelta(seconds=statistics.median(ttrs)) if ttrs else None,
    )


# --- writing a change ------------------------------------------------------------------


def _load(session: Session, escalation_id: int) -> Escalation:
    # Locked for the change (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes):
    # two people clicking at once act one after the other, and the second sees the first.
    esc = session.get(Escalation, escalation_id, with_for_update=True, populate_existing=True)
    if esc is None:
        raise NotFound(f"Escalation #{escalation_id} does not exist.")
    return esc


def _sync_thread(session: Session, esc: Escalation) -> None:
    """Copy the parent's channel + ts onto the escalation once the Outbox posted it."""
    if esc.thread_ts is None and esc.parent_key:
        posted = session.exec(
            select(Outbox.posted_channel, Outbox.posted_ts).where(Outbox.key == esc.parent_key)
        ).first()
        if posted is not None and posted[1]:
            esc.channel_id, esc.thread_ts = posted[0] or esc.channel_id, posted[1]


def _record(
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
    _sync_thread(session, esc)
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
        )
    _update_parent(session, clock, esc, event, key=f"{base}:parent")
    return event


def _update_parent(
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
    )


def _audit(session: Session, clock: Clock, actor: str, action: str, esc: Escalation, **detail: Any) -> None:
    audit.record(session, clock.now(), actor, f"escalation.{action}", "escalation", esc.id, detail)


def _load_to_change(
    session: Session, settings: Settings, escalation_id: int, user_id: str, doing: str, *, opener: bool
) -> Escalation:
    """The escalation a user action changes, once it is still live and the user may `doing` it."""
    esc = _load(session, escalation_id)
    _check_may_change(session, settings, esc, user_id, doing, opener=opener)
    return esc


def _check_may_change(
    session: Session, settings: Settings, esc: Escalation, user_id: str, doing: str, *, opener: bool
) -> None:
    _refuse_if_resolved(esc)
    _require(session, settings, esc, user_id, doing, opener=opener)


def _refuse_if_resolved(esc: Escalation) -> None:
    if esc.status == "resolved" and esc.resolved_at is not None:
        raise BadInput(
            f"Escalation #{esc.id} was already resolved by <@{esc.resolved_by}> "
            f"{slack_time(esc.resolved_at)}. Nothing was changed."
        )


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
    )
    sla = sla_text(snapshot)
    thread_key = f"esc:{esc.id}:open:thread"
    enqueue(
        session,
        clock,
        key=thread_key,
        text=(
            f"<@{owner}>, you own this {severity.upper()} escalation for *{account.name}*, opened by "
            f"<@{opened_by}>. Please acknowledge within {sla} with the button above; "
            "otherwise it is paged up the chain."
        ),
        channel=channel,
        thread_key=esc.parent_key,
        priority=URGENT,
    )
    enqueue(
        session,
        clock,
        key=f"esc:{esc.id}:open:dm",
        text=(
            f":rotating_light: You were paged: {severity.upper()} escalation for *{account.name}* — "
            f"{esc.summary[:300]}\nAcknowledge within {sla}: {{permalink}}"
        ),
        dm_user=owner,
        permalink_of=thread_key,
        priority=URGENT,
    )
    _audit(session, clock, opened_by, "open", esc, severity=severity, owner=owner)
    session.flush()
    return Opened(esc.id or 0, account.name, severity, owner, channel, sla)


def acknowledge(session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str) -> str:
    """Stop the policy clock. Owner, their chain, CS execs, admins."""
    esc = _load_to_change(session, settings, escalation_id, user_id, "acknowledge", opener=False)
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
    _record(
        session,
        clock,
        esc,
        kind="acknowledged",
        actor=user_id,
        thread_text=f":eyes: <@{user_id}> acknowledged ({waited} after opening). Paging stopped.",
    )
    _audit(session, clock, user_id, "acknowledge", esc)
    return f"You acknowledged escalation #{esc.id}; paging stopped."


def resolve(
    session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str, note: str
) -> str:
    """End it, with a resolution note; records time to acknowledge and to resolve."""
    esc = _load_to_change(session, settings, escalation_id, user_id, "resolve", opener=True)
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
    _record(
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
            f":white_check_mark: Resolved by <@{user_id}>: {note}\n"
            f"Time to acknowledge {format_duration(tta)} · time to resolve {format_duration(ttr)}"
        ),
    )
    _audit(session, clock, user_id, "resolve", esc)
    return f"Escalation #{esc.id} is resolved."


def reassign(
    session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str, new_owner: str
) -> str:
    """Hand it to someone else, who is paged; their SLA starts now."""
    esc = _load_to_change(session, settings, escalation_id, user_id, "reassign", opener=False)
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
    name = _account_name(session, esc)
    _record(
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
            f"for *{name}* — "
            f"{esc.summary[:300]}\nAcknowledge within {sla}."
        ),
    )
    _audit(session, clock, user_id, "reassign", esc, old=old, new=new_owner)
    return f"Escalation #{esc.id} now belongs to <@{new_owner}>, who has been paged."


def escalate_now(session: Session, clock: Clock, settings: Settings, escalation_id: int, user_id: str) -> str:
    """Page the next level up the chain now (the policy keeps running)."""
    esc = _load_to_change(session, settings, escalation_id, user_id, "escalate", opener=True)
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
    _record(
        session,
        clock,
        esc,
        kind="escalated",
        actor=user_id,
        detail={"level": esc.level, "paged": users, "owner": esc.owner_slack_id},
        thread_text=f":arrow_double_up: <@{user_id}> escalated: paging {mentions} ({label}).",
        page=users,
        dm_text=_page_dm(session, esc, f"<@{user_id}> escalated this to you ({label})."),
    )
    _audit(session, clock, user_id, "escalate", esc, level=esc.level, paged=users)
    return f"Paged {mentions} on escalation #{esc.id}."


def add_note(session: Session, clock: Clock, escalation_id: int, user_id: str, note: str) -> str:
    """A note in the thread and the timeline; anyone may add one."""
    esc = _load(session, escalation_id)
    note = (note or "").strip()
    if not note:
        raise BadInput("The note is empty. Nothing was posted.")
    _record(
        session,
        clock,
        esc,
        kind="note",
        actor=user_id,
        detail={"note": note},
        thread_text=f":memo: Note from <@{user_id}>: {note}",
    )
    _audit(session, clock, user_id, "note", esc)
    return f"Your note is posted in escalation #{esc.id}'s thread."


def _account_name(session: Session, esc: Escalation) -> str:
    account = session.get(Account, esc.account_id)
    return account.name if account else f"account {esc.account_id}"


def _page_dm(session: Session, esc: Escalation, why: str) -> str:
    name = _account_name(session, esc)
    return (
        f":rotating_light: {why} {esc.severity.upper()} escalation for *{name}*, owned by "
        f"<@{esc.owner_slack_id}> — {esc.summary[:300]}"
    )


# --- the policy step -------------------------------------------------------------------


def run_policy_step(session: Session, clock: Clock, escalation_id: int, step: int, due: datetime) -> bool:
    """Run step `step` of one escalation whose deadline `due` passed; False when stale.

    The claim is one conditional UPDATE (still open, still at this step, still
    this due time): a duplicate or late run, or an ack that landed in between,
    makes it match nothing, and nothing is paged. The Outbox keys are per
    (escalation, step, due time), so even a repeated claim cannot page twice."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        return False
    kind = step_kind(esc.policy, step)
    now = clock.now()
    following = step_kind(esc.policy, step + 1)
    new_due = None
    if following is not None:
        new_due = next_due(esc.policy, due)
        if new_due <= now:  # the job was down: give the next person a full SLA from now
            new_due = next_due(esc.policy, now)
    levels = levels_above(session, esc.owner_slack_id) if kind == "next_level" else []
    climbs = kind == "next_level" and esc.level < len(levels)
    claimed = session.execute(
        update(Escalation)
        .where(
            col(Escalation.id) == escalation_id,
            col(Escalation.status) == "open",
            col(Escalation.step) == step,
            col(Escalation.next_page_at) == due,
        )
        .values(step=step + 1, next_page_at=new_due, level=Escalation.level + (1 if climbs else 0))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    session.refresh(esc)
    if kind is None:
        return False  # a snapshot with no step here: the claim above just stopped the clock
    key_base = f"esc:{esc.id}:step:{step}:{int(due.timestamp())}"
    waited = format_duration(now - esc.opened_at)
    owner = esc.owner_slack_id
    if climbs:
        label, users = levels[esc.level - 1]
        mentions = ", ".join(f"<@{u}>" for u in users)
        _record(
            session,
            clock,
            esc,
            kind="paged_next_level",
            actor=None,
            detail={"step": step, "level": esc.level, "paged": users, "owner": owner},
            thread_text=(
                f":rotating_light: Not acknowledged after {waited}: paging {mentions} ({label}). "
                f"<@{owner}> is still the owner."
            ),
            page=users,
            dm_text=_page_dm(session, esc, f"Not acknowledged after {waited}: you are paged ({label})."),
            key_base=key_base,
        )
        return True
    # re-page the owner: the "owner" step, or a "next_level" step with nobody left above
    extra = ""
    if kind == "next_level":
        extra = " Nobody above them to page: add a manager or CS exec with `/cs team add`."
        if levels:
            extra = " Everyone up the chain has been paged already."
    _record(
        session,
        clock,
        esc,
        kind="repaged",
        actor=None,
        detail={"step": step, "paged": [owner], "owner": owner},
        thread_text=f":rotating_light: <@{owner}>, this is still not acknowledged after {waited}.{extra}",
        page=[owner],
        dm_text=_page_dm(session, esc, f"Reminder, not acknowledged after {waited}:"),
        key_base=key_base,
    )
    return True


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


def check_may_resolve(session: Session, settings: Settings, esc: Escalation, user_id: str) -> None:
    """Before opening the Resolve modal: refuse early rather than after the typing."""
    _check_may_change(session, settings, esc, user_id, "resolve", opener=True)
