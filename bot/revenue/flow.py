"""`/cs nps` (PRODUCT.md §2) end to end: record the response, then show what it
does to the account's health at once, so the listener only hands over the typed
text and shows the answer."""

from __future__ import annotations

from sqlalchemy import select

from bot.deps import Deps
from bot.health.evaluation import evaluate
from bot.health.scorecard import load_scorecard
from bot.revenue.records import record_nps
from bot.slack.answer import Answer
from bot.slack.escape import escape
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
            now += " · :warning: at risk: " + "; ".join(escape(r.text) for r in item.shown_reasons[:3])
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": now[:3000]}]})
        text += f"\n{now}"
    return Answer(text, blocks)
