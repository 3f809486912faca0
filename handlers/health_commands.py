"""`/cs nps|renewal|upsell|team|risk` (issue 7): thin adapters from the `/cs`
dispatcher to the domain in bot/records.py, bot/team.py and bot/health.py."""

from __future__ import annotations

from sqlalchemy import select

from bot.blocks.health import risk_list
from bot.deps import Deps
from bot.errors import BadInput
from bot.health import at_risk_now, evaluate
from bot.help import usage
from bot.members import role_of
from bot.records import record_nps, record_renewal, record_upsell
from bot.scorecard import load_scorecard
from bot.team import team_add, team_list
from handlers.commands import CommandRequest, Reply, add_subcommand
from models.db import session_scope
from models.tables import Account


def cs_nps(request: CommandRequest, deps: Deps) -> Reply:
    with session_scope(deps.engine) as session:
        confirmation, account_id = record_nps(
            session, deps.clock, deps.accounts, request.user_id, request.args
        )
    # What the new response does to the account, at once (not after the nightly job).
    card = load_scorecard(deps.settings.scorecard_path)
    with session_scope(deps.engine) as session:
        found = evaluate(session, deps.clock.now(), card, select(Account.id).where(Account.id == account_id))
    blocks = list(confirmation.blocks)
    text = confirmation.text
    if found and found[0].health.score is not None:
        item = found[0]
        now = f"Health now *{item.health.score}* ({item.health.band})"
        if item.at_risk:
            now += " · :warning: at risk: " + "; ".join(r.text for r in item.shown_reasons[:3])
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": now[:3000]}]})
        text += f"\n{now}"
    return Reply(text=text, blocks=blocks)


def cs_renewal(request: CommandRequest, deps: Deps) -> Reply:
    with session_scope(deps.engine) as session:
        c = record_renewal(session, deps.clock, deps.settings, deps.accounts, request.user_id, request.args)
    return Reply(text=c.text, blocks=c.blocks)


def cs_upsell(request: CommandRequest, deps: Deps) -> Reply:
    with session_scope(deps.engine) as session:
        c = record_upsell(session, deps.clock, deps.settings, deps.accounts, request.user_id, request.args)
    return Reply(text=c.text, blocks=c.blocks)


def cs_team(request: CommandRequest, deps: Deps) -> Reply:
    action, _, rest = request.args.partition(" ")
    action = action.lower()
    with session_scope(deps.engine) as session:
        if action in ("", "list"):
            return Reply(text=team_list(session, deps.settings))
        if action == "add":
            return Reply(text=team_add(session, deps.clock, deps.settings, request.user_id, rest.strip()))
    raise BadInput(f"`/cs team {action}` is not a team command.\n{usage('team')}")


def cs_risk(request: CommandRequest, deps: Deps) -> Reply:
    which = request.args.strip().lower()
    if which not in ("", "mine", "team", "all"):
        raise BadInput(f"Use `/cs risk`, `/cs risk mine` or `/cs risk team`.\n{usage('risk')}")
    card = load_scorecard(deps.settings.scorecard_path)
    with session_scope(deps.engine) as session:
        if not which:  # a CSM sees their own book; everyone else the whole portfolio
            which = "mine" if role_of(session, request.user_id, deps.settings) == "csm" else "all"
        items = at_risk_now(session, deps.clock, request.user_id, which, card)
    text, blocks = risk_list(items, which=which)
    return Reply(text=text, blocks=blocks)


def register_health_commands() -> None:
    for name, fn in (
        ("nps", cs_nps),
        ("renewal", cs_renewal),
        ("upsell", cs_upsell),
        ("team", cs_team),
        ("risk", cs_risk),
    ):
        add_subcommand(name, fn)
