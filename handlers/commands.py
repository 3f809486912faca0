"""The one `/cs` listener (Bolt runs only the first matching listener, so the
sub-commands are dispatched here from a table).

The table is built per app from each feature's registration (handlers/subcommands.py)
and kept on the app's Deps, so building apps again (tests, a restart) never mixes
two tables. The answer goes back in the ack. Slack's 3 s limit holds even with a
slow database because the transport acks on time and forwards a late answer to
the response_url (bot/slack/ack_budget.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.deps import Deps
from bot.slack.help import help_text
from handlers.cs_command import CommandRequest, Reply, Subcommand, error_reply
from handlers.subcommands import FEATURES


def subcommand_table() -> dict[str, Subcommand]:
    """Every feature's sub-commands, by name (a name registered twice is a bug)."""
    table: dict[str, Subcommand] = {}
    for feature in FEATURES:
        for name, fn in feature().items():
            if name in table:
                raise RuntimeError(f"/cs {name} is registered twice")
            table[name] = fn
    return table


# Sub-commands that may change what the person's Home tab shows (PRODUCT.md §2.1)
CHANGES_HOME = frozenset({"log", "escalate", "nps", "renewal", "upsell"})


def run_subcommand(request: CommandRequest, deps: Deps) -> Reply | None:
    fn = deps.subcommands.get(request.sub)
    if fn is None:
        return Reply(text=f"`/cs {request.sub}` is not a command.\n\n{help_text()}", blocks=None)
    try:
        reply = fn(request, deps)
    except Exception as exc:  # the user always gets an answer
        return error_reply(exc)
    if request.sub in CHANGES_HOME and request.args:
        deps.own_write(request.user_id)  # in the background: the answer does not wait
    return reply


def register(app: App, deps: Deps) -> None:
    deps.subcommands = subcommand_table()

    @app.command("/cs")
    def handle_cs(ack: Ack, body: dict[str, Any]) -> None:
        # Inline, answered in the ack; a slow run is acked on time by the transport
        # (bot/slack/ack_budget.py), which then sends this answer to the response_url.
        reply = run_subcommand(CommandRequest.from_body(body), deps)
        if reply is None:
            ack()
        else:
            ack(**reply.as_ack())
