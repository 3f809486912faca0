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

    register_health_actions(app, deps)  # issue 7


# =============================================================================
# Customer health (issue 7): the buttons on at-risk alerts. Value = account id.
# =============================================================================


def register_health_actions(app: App, deps: Deps) -> None:
    from bot.alerts import account_from_button, snooze
    from bot.errors import CsbotError as _CsbotError

    def _answer(respond: Respond, text: str) -> None:
        # ephemeral to the clicker; the channel's alert message stays as it is
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(ActionId.ALERT_SNOOZE)
    def on_alert_snooze(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            with session_scope(deps.engine) as session:
                text = snooze(session, deps.clock, body["user"]["id"], body["actions"][0].get("value", ""))
        except _CsbotError as exc:
            text = exc.message
        _answer(respond, text)

    # Lead, at merge: replace these two with issue 4's log modal (pre-set to the
    # account) and a modal that runs issue 6's escalate flow. Until then they
    # answer with the command that does the same, so the button is never dead.
    @app.action(ActionId.ALERT_LOG_TOUCHPOINT)
    def on_alert_log(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            with session_scope(deps.engine) as session:
                name = account_from_button(session, body["actions"][0].get("value", "")).name
        except _CsbotError as exc:
            _answer(respond, exc.message)
            return
        _answer(respond, f"Log a touchpoint for *{name}*: `/cs log {name} call <note...>`")

    @app.action(ActionId.ALERT_OPEN_ESCALATION)
    def on_alert_escalate(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            with session_scope(deps.engine) as session:
                name = account_from_button(session, body["actions"][0].get("value", "")).name
        except _CsbotError as exc:
            _answer(respond, exc.message)
            return
        _answer(respond, f"Open an escalation for *{name}*: `/cs escalate {name} sev2 <summary...>`")
