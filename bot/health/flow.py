"""`/cs risk` (PRODUCT.md §2, §4) end to end, so its listener only hands over the
typed text and shows the answer."""

from __future__ import annotations

from bot.accounts.members import role_of
from bot.deps import Deps
from bot.errors import BadInput
from bot.health.blocks import risk_list
from bot.health.evaluation import at_risk_now, has_reports
from bot.health.scorecard import load_scorecard
from bot.slack.answer import Answer
from bot.slack.help import usage
from models.db import session_scope


def risk(deps: Deps, user_id: str, args: str) -> Answer:
    """`/cs risk [mine|team|all]`: a CSM sees their own book by default; everyone else the portfolio."""
    which = args.strip().lower()
    if which not in ("", "mine", "team", "all"):
        raise BadInput(f"Use `/cs risk`, `/cs risk mine` or `/cs risk team`.\n{usage('risk')}")
    card = load_scorecard(deps.settings.scorecard_path)
    note = None
    with session_scope(deps.engine) as session:
        if not which:
            which = "mine" if role_of(session, user_id, deps.settings) == "csm" else "all"
        if which == "team" and not has_reports(session, user_id):
            # An empty team is not an all-clear: say so and show what is at risk.
            which = "all"
            note = (
                f"Nobody reports to you yet — `/cs team add @csm csm manager <@{user_id}>` sets that up; "
                "showing the whole portfolio."
            )
        items = at_risk_now(session, deps.clock, user_id, which, card, tz=deps.settings.tz)
    text, blocks = risk_list(items, which=which)
    if note is not None:
        text = f"{note}\n{text}"
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}, *blocks]
    return Answer(text, blocks)
