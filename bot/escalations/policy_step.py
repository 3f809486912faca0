"""The policy step the scheduler runs when an SLA is missed (PRODUCT.md §5):
claimed by a conditional UPDATE, state re-checked before the page, one Outbox
key per step so a restart or a duplicate run pages nobody twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from bot.clock import Clock
from bot.escalations.blocks import (
    format_duration,
)
from bot.escalations.chain import levels_above
from bot.escalations.changes import page_dm, record_change
from bot.escalations.policy import next_due, step_kind
from models.tables import Escalation

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
        record_change(
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
            dm_text=page_dm(session, esc, f"Not acknowledged after {waited}: you are paged ({label})."),
            key_base=key_base,
        )
        return True
    # re-page the owner: the "owner" step, or a "next_level" step with nobody left above
    extra = ""
    if kind == "next_level":
        extra = " Nobody above them to page: add a manager or CS exec with `/cs team add`."
        if levels:
            extra = " Everyone up the chain has been paged already."
    record_change(
        session,
        clock,
        esc,
        kind="repaged",
        actor=None,
        detail={"step": step, "paged": [owner], "owner": owner},
        thread_text=f":rotating_light: <@{owner}>, this is still not acknowledged after {waited}.{extra}",
        page=[owner],
        dm_text=page_dm(session, esc, f"Reminder, not acknowledged after {waited}:"),
        key_base=key_base,
    )
    return True
