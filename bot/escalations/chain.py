"""The chain of people above an escalation's owner, and who may act on it
(PRODUCT.md §5).

Acknowledge and reassign: the owner, anyone up the owner's manager chain
(Member.manager_slack_id, transitively), the CS execs (the top of the chain the
policy pages) and admins. Resolve and escalate now: the same people, plus whoever
opened it (the person facing the customer knows when it is fixed, or that it
needs more help). Anyone may open one or add a note."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.errors import NotAllowed
from bot.settings import Settings
from models.tables import Escalation, Member

MAX_CHAIN = 10  # manager chains longer than this are a data error; stop walking


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


def is_admin(session: Session, settings: Settings, user_id: str) -> bool:
    if user_id in settings.admins:
        return True
    member = session.get(Member, user_id)
    return member is not None and member.role == "admin"


def may_act(session: Session, settings: Settings, esc: Escalation, user_id: str) -> bool:
    """Owner, up the owner's chain, CS execs, admins."""
    if user_id == esc.owner_slack_id or is_admin(session, settings, user_id):
        return True
    if user_id in manager_chain(session, esc.owner_slack_id):
        return True
    member = session.get(Member, user_id)
    return member is not None and member.role == "exec"


def require_may(
    session: Session, settings: Settings, esc: Escalation, user_id: str, doing: str, *, opener: bool
) -> None:
    if may_act(session, settings, esc, user_id) or (opener and user_id == esc.opened_by):
        return
    who = f"the owner <@{esc.owner_slack_id}>, their managers, a CS exec"
    if opener:
        who += f", <@{esc.opened_by}> who opened it"
    raise NotAllowed(f"Only {who} or an admin can {doing} escalation #{esc.id}. Nothing was changed.")
