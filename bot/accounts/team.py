"""`/cs team add|list` (PRODUCT.md §2): who is a CSM, director, exec or admin,
and who reports to whom (the manager is the next level an escalation pages,
and `/cs risk team` reads it). Directors and admins add people; only an admin
makes someone an admin. CSBOT_ADMINS are admins from the start."""

from __future__ import annotations

from sqlmodel import Session, select

from bot import audit
from bot.accounts.members import require_role
from bot.clock import Clock
from bot.errors import BadInput
from bot.settings import Settings
from bot.slack.escape import escape
from bot.slack.help import usage
from bot.slack.mentions import mention
from models.tables import ROLES, Member


def parse_user(token: str) -> tuple[str, str | None]:
    """(user id, name Slack gave with it) or BadInput."""
    found = mention(token.strip(), bare_id=True)
    if found is None:
        raise BadInput(
            f"“{escape(token)}” is not a person: mention them with @, e.g. `@casey`.\n{usage('team')}"
        )
    return found


def team_add(session: Session, clock: Clock, settings: Settings, user_id: str, args: str) -> str:
    """`add @user <role> [manager @user]`: create or update a Member."""
    tokens = args.split()
    if len(tokens) not in (2, 4) or (len(tokens) == 4 and tokens[2].lower() != "manager"):
        raise BadInput(f"Use `/cs team add @user <role> [manager @user]`.\n{usage('team')}")
    who, name = parse_user(tokens[0])
    role = tokens[1].lower()
    if role not in ROLES:
        raise BadInput(
            f"“{escape(tokens[1])}” is not a role: use one of {', '.join(ROLES)}.\n{usage('team')}"
        )
    manager = parse_user(tokens[3])[0] if len(tokens) == 4 else None
    if manager == who:
        raise BadInput("Someone cannot be their own manager.")
    mine = require_role(session, user_id, settings, ("director", "admin"), "add people to the team")
    if role == "admin" and mine != "admin":
        require_role(session, user_id, settings, ("admin",), "make someone an admin")
    now = clock.now()
    member = session.get(Member, who)
    if member is not None and member.role == "admin" and role != "admin" and mine != "admin":
        require_role(session, user_id, settings, ("admin",), "change an admin's role")
    created = member is None
    if member is None:
        member = Member(slack_id=who, role=role, created_at=now, updated_at=now)
    before = {"role": member.role, "manager": member.manager_slack_id} if not created else {}
    member.role = role
    if manager is not None or created:
        member.manager_slack_id = manager
    if name:
        member.name = name
    member.updated_at = now
    session.add(member)
    audit.record(
        session,
        now,
        user_id,
        "member.add" if created else "member.update",
        "member",
        who,
        {"role": role, "manager": member.manager_slack_id, "before": before},
    )
    session.flush()
    reports = f", reporting to <@{member.manager_slack_id}>" if member.manager_slack_id else ""
    verb = "Added" if created else "Updated"
    return f":white_check_mark: {verb} <@{who}> as *{role}*{reports}."


def team_list(session: Session, settings: Settings) -> str:
    """Everyone by role, with their manager; CSBOT_ADMINS included."""
    members = session.exec(select(Member).order_by(Member.role, Member.slack_id)).all()
    by_role: dict[str, list[str]] = {r: [] for r in ROLES}
    for m in members:
        if m.slack_id in settings.admins:
            continue
        line = f"<@{m.slack_id}>" + (f" (manager <@{m.manager_slack_id}>)" if m.manager_slack_id else "")
        by_role.setdefault(m.role, []).append(line)
    by_role["admin"] = [f"<@{a}> (CSBOT_ADMINS)" for a in settings.admins] + by_role["admin"]
    if not any(by_role.values()):
        return "Nobody is in the team list yet. An admin adds people with `/cs team add @user csm`."
    titles = {"csm": "CSMs", "director": "Directors", "exec": "Execs", "admin": "Admins"}
    lines = ["*The team*"]
    for role in ROLES:
        if by_role.get(role):
            lines.append(f"*{titles[role]}:* " + ", ".join(by_role[role]))
    return "\n".join(lines)
