"""Listeners for buttons and menus (block_actions)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.deps import Deps
from bot.errors import CsbotError, NotFound
from bot.slack.action_ids import ActionId
from bot.slack.mentions import is_user_id
from bot.touchpoints.undo import perform_undo
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

    register_escalation_actions(app, deps)
    register_log(app, deps)
    register_health_actions(app, deps)


# =============================================================================
# Escalations (PRODUCT.md §5): the buttons and the reassign select on the parent message.
# A refused click gets an ephemeral sentence (to the clicker only) and changes nothing.
# =============================================================================


def _escalation_id(body: dict[str, Any]) -> int | None:
    from bot.escalations.blocks import escalation_id_from_block

    action = body["actions"][0]
    value = action.get("value")
    if value and str(value).isdigit():
        return int(value)
    return escalation_id_from_block(action.get("block_id", ""))


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register_escalation_actions(app: App, deps: Deps) -> None:
    from bot.escalations import service as escalations
    from bot.escalations.blocks import note_modal
    from bot.escalations.changes import check_may_resolve
    from bot.slack.action_ids import CallbackId
    from models.tables import Account, Escalation

    def run(body: dict[str, Any], respond: Respond, work: Any) -> None:
        """One change in one transaction; a known error goes back to the clicker only."""
        esc_id = _escalation_id(body)
        if esc_id is None:
            _tell(respond, "That button is not valid any more.")
            return
        try:
            with session_scope(deps.engine) as session:
                work(session, esc_id, body["user"]["id"])
        except CsbotError as exc:
            _tell(respond, exc.message)
            return
        deps.wake_outbox()

    @app.action(ActionId.ESC_ACK)
    def on_ack(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        run(body, respond, lambda s, i, u: escalations.acknowledge(s, deps.clock, deps.settings, i, u))

    @app.action(ActionId.ESC_ESCALATE)
    def on_escalate(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        run(body, respond, lambda s, i, u: escalations.escalate_now(s, deps.clock, deps.settings, i, u))

    @app.action(ActionId.ESC_REASSIGN)
    def on_reassign(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        new_owner = body["actions"][0].get("selected_user") or ""
        if not is_user_id(new_owner):
            _tell(respond, "Pick the person to reassign it to from the list. Nothing was changed.")
            return
        run(
            body,
            respond,
            lambda s, i, u: escalations.reassign(s, deps.clock, deps.settings, i, u, new_owner),
        )

    def open_modal(body: dict[str, Any], respond: Respond, resolve: bool) -> None:
        esc_id = _escalation_id(body)
        user_id = body["user"]["id"]
        if esc_id is None:
            _tell(respond, "That button is not valid any more.")
            return
        try:
            with session_scope(deps.engine) as session:
                esc = session.get(Escalation, esc_id)
                if esc is None:
                    raise NotFound(f"Escalation #{esc_id} does not exist.")
                if resolve:
                    check_may_resolve(session, deps.settings, esc, user_id)
                account = session.get(Account, esc.account_id)
                name = account.name if account else "?"
        except CsbotError as exc:
            _tell(respond, exc.message)
            return
        callback = CallbackId.ESC_RESOLVE_MODAL if resolve else CallbackId.ESC_NOTE_MODAL
        view = note_modal(callback, esc_id, name, resolve=resolve)
        deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ActionId.ESC_RESOLVE)
    def on_resolve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_modal(body, respond, resolve=True)

    @app.action(ActionId.ESC_NOTE)
    def on_note(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_modal(body, respond, resolve=False)


# =============================================================================
# Customer health (PRODUCT.md §4): the buttons on at-risk alerts. Value = account id.
# =============================================================================


def register_health_actions(app: App, deps: Deps) -> None:
    import logging

    from bot.errors import CsbotError as _CsbotError
    from bot.health.alert_actions import open_escalation_form, open_log_for_alert
    from bot.health.alerts import snooze

    log = logging.getLogger(__name__)

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

    # Log touchpoint -> the log form, the account chosen; Open escalation ->
    # a form whose submission runs the escalate flow (handlers/views.py).
    # Both open after the ack, within the trigger's 3 s; a stale button is answered.
    def open_form(body: dict[str, Any], respond: Respond, opener: Any) -> None:
        user_id = body["user"]["id"]
        value = body["actions"][0].get("value", "")
        channel_id = (body.get("channel") or {}).get("id")

        def work() -> None:
            try:
                opener(deps, body["trigger_id"], user_id, value, channel_id)
            except _CsbotError as exc:
                _answer(respond, exc.message)
            except Exception:
                log.exception("could not open the form for %s", user_id)
                _answer(respond, "Sorry, I could not open the form. Please click the button again.")

        deps.executor.submit(work)

    @app.action(ActionId.ALERT_LOG_TOUCHPOINT)
    def on_alert_log(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_form(body, respond, open_log_for_alert)

    @app.action(ActionId.ALERT_OPEN_ESCALATION)
    def on_alert_escalate(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        open_form(body, respond, open_escalation_form)


# =============================================================================
# /cs log — the account picker buttons and the form's account search
# =============================================================================


def register_log(app: App, deps: Deps) -> None:
    import re

    from bot.touchpoints.flow import account_options, card_for_button, log_picked

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
