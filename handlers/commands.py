"""The one `/cs` listener (Bolt runs only the first matching listener, so the
sub-commands are dispatched here from a table).

The answer goes back in the ack. Slack's 3 s limit holds even with a slow
database because the transport acks on time and forwards a late answer to the
response_url (bot/ack_budget.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App

from bot.deps import Deps
from bot.errors import CsbotError
from bot.slack.answer import Answer
from bot.slack.help import help_blocks, help_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandRequest:
    """A `/cs` invocation, in plain values."""

    user_id: str
    channel_id: str
    team_id: str
    sub: str
    args: str
    trigger_id: str | None = None
    response_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> CommandRequest:
        text = (body.get("text") or "").strip()
        sub, _, args = text.partition(" ")
        return cls(
            user_id=body.get("user_id", ""),
            channel_id=body.get("channel_id", ""),
            team_id=body.get("team_id", ""),
            sub=sub.lower(),
            args=args.strip(),
            trigger_id=body.get("trigger_id"),
            response_url=body.get("response_url"),
            raw=body,
        )


@dataclass
class Reply:
    """An answer to the user. Ephemeral unless they asked to share."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    response_type: str = "ephemeral"
    replace_original: bool | None = None

    def as_ack(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": self.text, "response_type": self.response_type}
        if self.blocks is not None:
            kwargs["blocks"] = self.blocks
        return kwargs

    def as_respond(self) -> dict[str, Any]:
        kwargs = self.as_ack()
        if self.replace_original is not None:
            kwargs["replace_original"] = self.replace_original
        return kwargs


Subcommand = Callable[[CommandRequest, Deps], "Reply | None"]


def _help(request: CommandRequest, deps: Deps) -> Reply:
    return Reply(text=help_text(request.args or None), blocks=help_blocks(request.args or None))


# sub-command -> function. Feature modules add theirs with `add_subcommand`.
def _metrics(request: CommandRequest, deps: Deps) -> Reply:
    return Reply(
        text="`/cs metrics` is not available yet: the director's figures come with the weekly digest, "
        "which this version does not build. `/cs risk` shows the at-risk accounts now."
    )


SUBCOMMANDS: dict[str, Subcommand] = {"help": _help, "": _help, "metrics": _metrics}


def add_subcommand(name: str, fn: Subcommand) -> None:
    SUBCOMMANDS[name] = fn


def from_flow(flow: Callable[[Deps, str, str], Answer]) -> Subcommand:
    """A sub-command whose whole flow lives in bot/ (parse, check, write, answer):
    hand it the user and the typed text, and show the Answer it returns."""

    def run(request: CommandRequest, deps: Deps) -> Reply:
        answer = flow(deps, request.user_id, request.args)
        return Reply(text=answer.text, blocks=answer.blocks)

    return run


def error_reply(exc: BaseException) -> Reply:
    """Known errors become their own sentence; anything else a reference id."""
    if isinstance(exc, CsbotError):
        return Reply(text=exc.message)
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected error ref=%s", ref, exc_info=exc)
    return Reply(text=f":warning: Something went wrong on our side (reference `{ref}`). Nothing was saved.")


def run_subcommand(request: CommandRequest, deps: Deps) -> Reply | None:
    fn = SUBCOMMANDS.get(request.sub)
    if fn is None:
        return Reply(text=f"`/cs {request.sub}` is not a command.\n\n{help_text()}", blocks=None)
    try:
        return fn(request, deps)
    except Exception as exc:  # the user always gets an answer
        return error_reply(exc)


def register(app: App, deps: Deps) -> None:
    @app.command("/cs")
    def handle_cs(ack: Ack, body: dict[str, Any]) -> None:
        # Inline, answered in the ack; a slow run is acked on time by the transport
        # (bot/ack_budget.py), which then sends this answer to the response_url.
        reply = run_subcommand(CommandRequest.from_body(body), deps)
        if reply is None:
            ack()
        else:
            ack(**reply.as_ack())


# =============================================================================
# Escalations (issue 6): /cs escalate, /cs escalations
# =============================================================================


from bot.escalations import flow as escalation_flow  # noqa: E402

add_subcommand("escalate", from_flow(escalation_flow.escalate))
add_subcommand("escalations", from_flow(escalation_flow.list_open))

# =============================================================================
# Customer health (issue 7): /cs nps, renewal, upsell, team, risk. Registered at
# import (this module is complete by now, so the circular import is safe).
# =============================================================================
from handlers.health_commands import register_health_commands  # noqa: E402

register_health_commands()
# --- subscriptions (issue 5): /cs subscribe, /cs unsubscribe, /cs subscriptions ----------

import bot.delivery.subscriptions  # noqa: E402,F401  (its `/cs help subscribe` text)


def _subscribe(request: CommandRequest, deps: Deps) -> Reply:
    from bot.delivery.subscriptions import subscribe

    text, queued = subscribe(
        deps.engine, deps.client, deps.clock, deps.settings, request.user_id, request.channel_id, request.args
    )
    if queued:
        deps.wake_outbox()
    return Reply(text=text)


def _unsubscribe(request: CommandRequest, deps: Deps) -> Reply:
    from bot.delivery.subscriptions import unsubscribe

    text, queued = unsubscribe(
        deps.engine, deps.clock, deps.settings, request.user_id, request.channel_id, request.args
    )
    if queued:
        deps.wake_outbox()
    return Reply(text=text)


def _subscriptions(request: CommandRequest, deps: Deps) -> Reply:
    from bot.delivery.subscriptions import list_subscriptions

    return Reply(text=list_subscriptions(deps.engine, deps.clock, request.channel_id))


add_subcommand("subscribe", _subscribe)
add_subcommand("unsubscribe", _unsubscribe)
add_subcommand("subscriptions", _subscriptions)
# issue 4: /cs log and /cs account (the flow lives in bot/log_flow.py)
# =============================================================================


def _log(request: CommandRequest, deps: Deps) -> Reply | None:
    from bot.touchpoints.flow import log_line, open_log_modal

    if not request.args:
        if not request.trigger_id:
            return Reply(text="I could not open the form here. Type the whole line instead.")
        open_log_modal(deps, request.trigger_id, request.user_id, channel_id=request.channel_id)
        return None
    answer = log_line(deps, request.user_id, request.args, request_key=request.trigger_id)
    return Reply(text=answer.text, blocks=answer.blocks)


def _account(request: CommandRequest, deps: Deps) -> Reply:
    from bot.touchpoints.flow import account_card_answer

    return from_flow(account_card_answer)(request, deps)


add_subcommand("log", _log)
add_subcommand("account", _account)
