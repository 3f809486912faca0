"""`/cs nps` and `/cs risk` (issue 7, PRODUCT.md §2) end to end, so their listeners in
handlers/health_commands.py only hand over the typed text and show the answer."""

from __future__ import annotations

from sqlalchemy import select

from bot.accounts.members import role_of
from bot.deps import Deps
from bot.errors import BadInput
from bot.health.blocks import risk_list
from bot.health.evaluation import at_risk_now, evaluate
from bot.health.scorecard import load_scorecard
from bot.revenue.records import record_nps
from bot.slack.answer import Answer
from bot.slack.help import usage
from models.db import session_scope
from models.tables import Account


def nps(deps: Deps, user_id: str, args: str) -> Answer:
    """Record the response, then show what it does to the account's health at once
    (not after the nightly job)."""
    with session_scope(deps.engine) as session:
        confirmation, account_id = record_nps(session, deps.clock, deps.accounts, user_id, args)
    card = load_scorecard(deps.settings.scorecard_path)
    with session_scope(deps.engine) as session:
        found = evaluate(
            session,
            deps.clock.now(),
            card,
            select(Account.id).where(Account.id == account_id),
            tz=deps.settings.tz,
        )
    blocks = list(confirmation.blocks)
    text = confirmation.text
    if found and found[0].health.score is not None:
        item = found[0]
        now = f"Health now *{item.health.score}* ({item.health.band})"
        if item.at_risk:
            now += " · :warning: at risk: " + "; ".join(r.text for r in item.shown_reasons[:3])
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": now[:3000]}]})
        text += f"\n{now}"
    return Answer(text, blocks)


def risk(deps: Deps, user_id: str, args: str) -> Answer:
    """`/cs risk [mine|team|all]`: a CSM sees their own book by default; everyone else the portfolio."""
    which = args.strip().lower()
    if which not in ("", "mine", "team", "all"):
        raise BadInput(f"Use `/cs risk`, `/cs risk mine` or `/cs risk team`.\n{usage('risk')}")
    card = load_scorecard(deps.settings.scorecard_path)
    with session_scope(deps.engine) as session:
        if not which:
            which = "mine" if role_of(session, user_id, deps.settings) == "csm" else "all"
        items = at_risk_now(session, deps.clock, user_id, which, card, tz=deps.settings.tz)
    text, blocks = risk_list(items, which=which)
    return Answer(text, blocks)
