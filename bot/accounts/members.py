"""Who is who: roles from the Member table, with CSBOT_ADMINS as admins."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from bot.errors import NotAllowed
from bot.settings import Settings
from models.tables import Member


def role_of(session: Session, user_id: str, settings: Settings) -> str | None:
    """The user's role, or None when they are not in the team table."""
    if user_id in settings.admins:
        return "admin"
    member = session.get(Member, user_id)
    return member.role if member is not None else None


def require_role(
    session: Session, user_id: str, settings: Settings, allowed: Iterable[str], doing: str
) -> str:
    """Return the user's role, or raise NotAllowed naming the roles `doing` needs."""
    allowed = tuple(allowed)
    role = role_of(session, user_id, settings)
    if role in allowed:
        return role  # type: ignore[return-value]
    needed = " or ".join(f"*{r}*" for r in allowed)
    article = "an" if allowed[0][0] in "aeiou" else "a"
    yours = f"your role is *{role}*" if role else "you are not in the team list (`/cs team list`)"
    raise NotAllowed(f"Only {article} {needed} can {doing}; {yours}. Ask an admin to run `/cs team add`.")
