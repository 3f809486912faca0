"""Listeners for buttons and menus (block_actions)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.action_ids import ActionId
from bot.deps import Deps
from bot.errors import CsbotError
from bot.undo import perform_undo
from models.db import session_scope


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.UNDO)
    def on_undo(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        try:
            with session_scope(deps.engine) as session:
                text = perform_undo(session, deps.clock, user_id, value)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=f":leftwards_arrow_with_hook: {text}", response_type="ephemeral", replace_original=True)

    register_log(app, deps)  # issue 4


# =============================================================================
# issue 4: /cs log — the account picker buttons and the form's account search
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import re

    from bot.log_flow import account_options, card_for_button, log_picked

    @app.action(re.compile(rf"^{ActionId.LOG_PICK_ACCOUNT}_\d+$"))
    def on_pick_account(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        try:
            answer = log_picked(deps, user_id, value)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=True)

    @app.options(ActionId.LOG_ACCOUNT)
    def on_account_search(ack: Ack, body: dict[str, Any]) -> None:
        ack(options=account_options(deps, body.get("value", "")))

    @app.action(re.compile(rf"^{ActionId.ACCOUNT_PICK}_\d+$"))
    def on_pick_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            answer = card_for_button(deps, body["user"]["id"], body["actions"][0].get("value", ""))
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=True)

    @app.action(ActionId.ACCOUNT_SHARE)
    def on_share_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The user asked to share their card: it goes to the channel as their command's answer."""
        ack()
        user_id = body["user"]["id"]
        try:
            answer = card_for_button(deps, user_id, body["actions"][0].get("value", ""), shareable=False)
        except CsbotError as exc:
            respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Shared by <@{user_id}>"}]}
        respond(
            text=answer.text,
            blocks=[*(answer.blocks or []), context],
            response_type="in_channel",
            replace_original=False,
        )
