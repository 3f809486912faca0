"""`/cs escalate` and `/cs escalations` (PRODUCT.md §2, §5) end to end, so the
listener in handlers/commands.py only hands over the typed text and shows the answer:
parse, choose the policy and the owner, write in one unit of work, wake the Outbox."""

from __future__ import annotations

import logging

from bot.deps import Deps
from bot.errors import BadInput
from bot.escalations.blocks import ListedEscalation, escalation_list, opened_confirmation
from bot.escalations.listing import open_escalations
from bot.escalations.parse import default_owner, parse_escalate
from bot.escalations.policy import EscalationPolicy, load_policy
from bot.escalations.service import Opened, open_escalation
from bot.slack.answer import Answer
from bot.slack.escape import escape
from bot.slack.permalinks import build_permalink
from models.db import session_scope

log = logging.getLogger(__name__)


def policy_of(deps: Deps) -> EscalationPolicy:
    """The policy validated at start-up, or the configured file when none was given."""
    return deps.escalation_policy or load_policy(deps.settings.escalation_policy_path, deps.settings.tz)


def escalate(deps: Deps, user_id: str, args: str) -> Answer:
    """`/cs escalate <account> <sev> [@owner] <summary>`: open it, page the owner."""
    parsed = parse_escalate(args, deps.accounts)
    policy = policy_of(deps)
    with session_scope(deps.engine) as session:
        opened = open_escalation(
            session,
            deps.clock,
            account_id=parsed.account_id,
            severity=parsed.severity,
            summary=parsed.summary,
            owner=parsed.owner_id or default_owner(session, parsed),
            opened_by=user_id,
            channel=deps.settings.escalation_channel,
            policy=policy,
        )
    deps.wake_outbox()
    text = opened_text(opened)
    return Answer(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def opened_text(opened: Opened) -> str:
    return opened_confirmation(
        opened.escalation_id, opened.severity, opened.account_name, opened.owner, opened.channel, opened.sla
    )


def list_open(deps: Deps, user_id: str, args: str) -> Answer:
    """`/cs escalations [mine|all]`: the open ones, with a link to each thread."""
    scope = (args or "mine").strip().lower()
    if scope not in ("mine", "all"):
        raise BadInput("Use: `/cs escalations [mine|all]` (mine: the ones you own; all: the team's).")
    with session_scope(deps.engine) as session:
        rows, total = open_escalations(session, owner=user_id if scope == "mine" else None)
    if not rows:
        if scope == "mine":
            return Answer("You own no open escalations. `/cs escalations all` lists the team's.")
        return Answer("No open escalations. :tada:")
    now = deps.clock.now()
    listed = []
    workspace = deps.workspace.get(deps.client) if any(r.channel and r.ts for r in rows) else None
    for row in rows:
        link = None
        if workspace and row.channel and row.ts:
            link = build_permalink(workspace, row.channel, row.ts)
        listed.append(
            ListedEscalation(
                id=row.id,
                severity=row.severity,
                account_name=row.account_name,
                summary=row.summary,
                owner=row.owner,
                status=row.status,
                age=now - row.opened_at,
                link=link,
            )
        )
    title = "Your open escalations" if scope == "mine" else "Open escalations"
    title += f" ({total})"
    lines = [f"{r.severity.upper()} {escape(r.account_name)} #{r.id} ({r.status})" for r in listed]
    blocks = escalation_list(title, listed, total - len(listed))
    return Answer(f"{title}: " + "; ".join(lines), blocks)
