"""`/cs nps|renewal|upsell|team|risk` (issue 7): thin adapters from the `/cs`
dispatcher to the domain in bot/records.py, bot/team.py and bot/health_flow.py."""

from __future__ import annotations

from bot.accounts.team import team_add, team_list
from bot.deps import Deps
from bot.errors import BadInput
from bot.health import flow as health_flow
from bot.revenue.records import record_renewal, record_upsell
from bot.slack.help import usage
from handlers.commands import CommandRequest, Reply, add_subcommand, from_flow
from models.db import session_scope


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


def register_health_commands() -> None:
    for name, fn in (
        ("nps", from_flow(health_flow.nps)),
        ("renewal", cs_renewal),
        ("upsell", cs_upsell),
        ("team", cs_team),
        ("risk", from_flow(health_flow.risk)),
    ):
        add_subcommand(name, fn)
