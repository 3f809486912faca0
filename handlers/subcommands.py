"""Each feature's `/cs` sub-commands: thin adapters from the dispatcher to the
flows in bot/ (parse, check, write, answer live there). handlers/commands.py
builds one table per app from FEATURES."""

from __future__ import annotations

from collections.abc import Callable

from bot.accounts.team import team_add, team_list
from bot.delivery.subscriptions import list_subscriptions, subscribe, unsubscribe
from bot.deps import Deps
from bot.errors import BadInput
from bot.escalations import flow as escalation_flow
from bot.health import flow as health_flow
from bot.metrics import command as metrics_command
from bot.revenue import flow as revenue_flow
from bot.revenue.records import record_renewal, record_upsell
from bot.slack.help import help_blocks, help_text, usage
from bot.touchpoints.flow import account_card_answer, log_line, open_log_modal
from handlers.cs_command import CommandRequest, Reply, Subcommand, from_flow
from models.db import session_scope

# --- help, and the metrics ------------------------------------------------


def _help(request: CommandRequest, deps: Deps) -> Reply:
    return Reply(text=help_text(request.args or None), blocks=help_blocks(request.args or None))


def core_commands() -> dict[str, Subcommand]:
    return {"help": _help, "": _help, "metrics": from_flow(metrics_command.metrics)}


# --- touchpoints: /cs log, /cs account ---------------------------------------------


def _log(request: CommandRequest, deps: Deps) -> Reply | None:
    if not request.args:
        if not request.trigger_id:
            return Reply(text="I could not open the form here. Type the whole line instead.")
        open_log_modal(deps, request.trigger_id, request.user_id, channel_id=request.channel_id)
        return None
    answer = log_line(deps, request.user_id, request.args, request_key=request.trigger_id)
    return Reply(text=answer.text, blocks=answer.blocks)


def touchpoint_commands() -> dict[str, Subcommand]:
    return {"log": _log, "account": from_flow(account_card_answer)}


# --- escalations: /cs escalate, /cs escalations ------------------------------------


def escalation_commands() -> dict[str, Subcommand]:
    return {
        "escalate": from_flow(escalation_flow.escalate),
        "escalations": from_flow(escalation_flow.list_open),
    }


# --- health: /cs risk ---------------------------------------------------------------


def health_commands() -> dict[str, Subcommand]:
    return {"risk": from_flow(health_flow.risk)}


# --- revenue: /cs nps, /cs renewal, /cs upsell --------------------------------------


def _renewal(request: CommandRequest, deps: Deps) -> Reply:
    with session_scope(deps.engine) as session:
        c = record_renewal(session, deps.clock, deps.settings, deps.accounts, request.user_id, request.args)
    return Reply(text=c.text, blocks=c.blocks)


def _upsell(request: CommandRequest, deps: Deps) -> Reply:
    with session_scope(deps.engine) as session:
        c = record_upsell(session, deps.clock, deps.settings, deps.accounts, request.user_id, request.args)
    return Reply(text=c.text, blocks=c.blocks)


def revenue_commands() -> dict[str, Subcommand]:
    return {"nps": from_flow(revenue_flow.nps), "renewal": _renewal, "upsell": _upsell}


# --- accounts: /cs team -------------------------------------------------------------


def _team(request: CommandRequest, deps: Deps) -> Reply:
    action, _, rest = request.args.partition(" ")
    action = action.lower()
    with session_scope(deps.engine) as session:
        if action in ("", "list"):
            return Reply(text=team_list(session, deps.settings))
        if action == "add":
            return Reply(text=team_add(session, deps.clock, deps.settings, request.user_id, rest.strip()))
    raise BadInput(f"`/cs team {action}` is not a team command.\n{usage('team')}")


def account_commands() -> dict[str, Subcommand]:
    return {"team": _team}


# --- delivery: /cs subscribe, /cs unsubscribe, /cs subscriptions -------------------


def _subscribe(request: CommandRequest, deps: Deps) -> Reply:
    text, queued = subscribe(
        deps.engine, deps.client, deps.clock, deps.settings, request.user_id, request.channel_id, request.args
    )
    if queued:
        deps.wake_outbox()
    return Reply(text=text)


def _unsubscribe(request: CommandRequest, deps: Deps) -> Reply:
    text, queued = unsubscribe(
        deps.engine, deps.clock, deps.settings, request.user_id, request.channel_id, request.args
    )
    if queued:
        deps.wake_outbox()
    return Reply(text=text)


def _subscriptions(request: CommandRequest, deps: Deps) -> Reply:
    return Reply(text=list_subscriptions(deps.engine, deps.clock, request.channel_id))


def delivery_commands() -> dict[str, Subcommand]:
    return {"subscribe": _subscribe, "unsubscribe": _unsubscribe, "subscriptions": _subscriptions}


FEATURES: tuple[Callable[[], dict[str, Subcommand]], ...] = (
    core_commands,
    touchpoint_commands,
    escalation_commands,
    health_commands,
    revenue_commands,
    account_commands,
    delivery_commands,
)
